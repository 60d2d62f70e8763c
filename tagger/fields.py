"""The model's input: a table of paper records with separate ``title`` and ``abstract`` columns.

Accepted forms (scikit-learn style "X"): a list (or any sequence) of mappings with an
``abstract`` key and an optional ``title`` key, a pandas DataFrame with those columns, a 2-D
array-like whose rows are ``(title, abstract)``, or :class:`tagger.corpus.Document` objects.
Keeping the fields apart end to end is what lets the title get features of its own without
guessing where it ends (no ``title + ".\\n" + abstract`` packing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np


class Fields(NamedTuple):
    """Column view of a batch of records: titles and abstracts, aligned."""

    titles: list[str]
    abstracts: list[str]

    def __len__(self) -> int:  # type: ignore[override] - the number of records, not fields
        return len(self.abstracts)

    def take(self, rows: Sequence[int]) -> Fields:
        return Fields([self.titles[i] for i in rows], [self.abstracts[i] for i in rows])


def _text(value: Any, column: str, row: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN: a missing cell in a DataFrame
        return ""
    if not isinstance(value, str):
        raise TypeError(f"X row {row}: {column!r} must be a string, not {type(value).__name__}")
    return value


def as_fields(X: Any) -> Fields:
    """Normalise any accepted form of ``X`` to :class:`Fields`; raises ``TypeError`` or
    ``ValueError`` naming the row for anything else."""
    if isinstance(X, Fields):
        return X
    if hasattr(X, "tocsr") or hasattr(X, "tocoo"):
        raise TypeError("X is a sparse matrix of numbers; the model takes a table of text "
                        "records (title, abstract)")
    if isinstance(X, UnlabelledPapers):
        return X.fields
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 2 and X.dtype == object:
        return Fields([_text(v, "title", i) for i, v in enumerate(X[:, 0].tolist())],
                      [_text(v, "abstract", i) for i, v in enumerate(X[:, 1].tolist())])
    columns = getattr(X, "columns", None)
    if columns is not None:  # a pandas DataFrame
        if "abstract" not in columns:
            raise ValueError("X has no 'abstract' column")
        abstracts = [_text(v, "abstract", i) for i, v in enumerate(X["abstract"].tolist())]
        titles = ([_text(v, "title", i) for i, v in enumerate(X["title"].tolist())]
                  if "title" in columns else [""] * len(abstracts))
        return Fields(titles, abstracts)
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence) and not hasattr(X, "__iter__"):
        raise TypeError("X must be a table of records (a list of mappings with 'title' and "
                        "'abstract', a DataFrame, or rows of (title, abstract))")
    titles, abstracts = [], []
    for row, record in enumerate(X):
        if isinstance(record, Mapping):
            if "abstract" not in record:
                raise ValueError(f"X row {row}: no 'abstract'")
            titles.append(_text(record.get("title"), "title", row))
            abstracts.append(_text(record["abstract"], "abstract", row))
        elif hasattr(record, "abstract") and hasattr(record, "title"):  # Document
            titles.append(_text(record.title, "title", row))
            abstracts.append(_text(record.abstract, "abstract", row))
        elif isinstance(record, (Sequence, np.ndarray)) and not isinstance(
                record, (str, bytes)) and len(record) == 2:
            titles.append(_text(record[0], "title", row))
            abstracts.append(_text(record[1], "abstract", row))
        else:
            raise TypeError(f"X row {row}: expected a record with 'title' and 'abstract', got "
                            f"{type(record).__name__}")
    return Fields(titles, abstracts)


class UnlabelledPapers:
    """Records without labels that only shape unsupervised features (``fit(...,
    unlabelled=...)``). Deliberately not array-like: scikit-learn's cross-validation helpers
    split array-like fit parameters by row, and these must reach every fold whole."""

    def __init__(self, records: Any):
        self.fields = as_fields(records)

    def __repr__(self) -> str:
        return f"UnlabelledPapers({len(self.fields)} records)"
