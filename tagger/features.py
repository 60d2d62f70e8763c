"""The one place that turns paper records into features.

:class:`ThemeFeatures` is a scikit-learn transformer over records with separate ``title`` and
``abstract`` fields (see :mod:`tagger.fields`), producing, side by side:

* TF-IDF over lemma unigrams and bigrams (stop words removed) of the whole paper: the theme
  vocabulary. The title's own TF-IDF row is added once more with ``title_weight``: a title
  names what a paper is centrally about, the abstract also names what it merely mentions;
* per-theme counts of the taxonomy's indicator phrases (log-scaled) in the whole paper and,
  with ``title_phrases``, in the title alone: prior knowledge that works even for themes with a
  handful of labelled examples;
* a latent semantic (LSA) block learnt from labelled and unlabelled abstracts, so related words
  carry a theme even when no labelled paper used them;
* optionally a prefit ``representation`` learnt from the arXiv feed (any object with
  ``transform(lemma_lists) -> ndarray``, see :mod:`tagger.representations`).

The title and the abstract are lemmatised separately: n-grams and phrases never run across the
boundary, and the title's features come from the title field, never from a guess. ``transform``
does not go through ``TfidfVectorizer.transform``: n-grams are looked up in dicts and the
rows are assembled with numpy into one CSR matrix, because feature extraction is most of the
cost of tagging thousands of abstracts a second. The result equals scikit-learn's (tested).
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from tagger.compat import fill_new_parameters
from tagger.fields import Fields, as_fields
from tagger.phrases import PhraseIndex
from tagger.text import STOPWORDS, lemmas

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer


def is_content_word(lemma: str) -> bool:
    """Whether a lemma can carry theme meaning (not a stop word, a number or a single letter)."""
    return len(lemma) > 1 and lemma not in STOPWORDS and not lemma.isdigit()


class BoundedMemo(dict):
    """A dict that fills itself on first sight of a key (:meth:`compute`), so a C-level
    ``map(memo.__getitem__, ...)`` does the work once per distinct key. Bounded, so a server
    fed random strings cannot grow it without limit: past :attr:`LIMIT` entries, unseen keys
    are computed but not kept."""

    LIMIT = 500_000

    def compute(self, key: str) -> Any:
        raise NotImplementedError

    def __missing__(self, key: str) -> Any:
        value = self.compute(key)
        if len(self) < self.LIMIT:
            self[key] = value
        return value


class _ContentWordMemo(BoundedMemo):
    """lemma -> whether it is a content word. The filter runs on every word of every paper;
    one dict lookup is cheaper than three tests."""

    def compute(self, lemma: str) -> bool:
        return is_content_word(lemma)


_IS_CONTENT = _ContentWordMemo()


def content_words(lemma_list: Iterable[str]) -> list[str]:
    """The lemmas that pass :func:`is_content_word`, in order (``filter`` over the memo's
    ``__getitem__`` runs in C: half the time of a list comprehension)."""
    return list(filter(_IS_CONTENT.__getitem__, lemma_list))


class LemmaNgrams:
    """Analyzer for TfidfVectorizer: content-word lemma n-grams of a paper given as lemma-list
    segments (title, abstract); n-grams never cross a segment boundary.

    A class rather than a closure so fitted vectorizers pickle.
    """

    def __init__(self, max_n: int = 2):
        self.max_n = max_n

    def __call__(self, segments: Sequence[Sequence[str]]) -> list[str]:
        grams: list[str] = []
        for segment in segments:
            words = content_words(segment)
            grams.extend(words)
            for n in range(2, self.max_n + 1):
                grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams


def _drop_stop_words(vectorizer: TfidfVectorizer) -> TfidfVectorizer:
    """``stop_words_`` keeps every pruned term and can weigh megabytes; it is only for
    introspection (scikit-learn's docs recommend deleting it before pickling)."""
    if hasattr(vectorizer, "stop_words_"):
        del vectorizer.stop_words_
    return vectorizer


Entries = tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, columns, values; row-major order


def _tfidf_entries(columns: Sequence[Sequence[int]], idf: np.ndarray) -> Entries:
    """Sublinear-TF x IDF, L2-normalised rows (TfidfVectorizer's ``sublinear_tf=True``,
    ``norm="l2"``) from per-row lists of column indices (one entry per occurrence), as sorted
    ``(rows, columns, values)``. Counting is one ``np.unique`` over the whole batch, so no
    Python loop runs per entry and no intermediate sparse matrix is built."""
    n_rows, n_columns = len(columns), len(idf)
    if n_rows == 1:
        return _tfidf_entries_one(columns[0], idf)
    lengths = np.fromiter(map(len, columns), dtype=np.int64, count=n_rows)
    flat = np.fromiter(chain.from_iterable(columns), dtype=np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    keys, counts = np.unique(rows * n_columns + flat, return_counts=True)
    key_rows, key_columns = np.divmod(keys, n_columns)
    values = (np.log(counts) + 1.0) * idf[key_columns]
    norms = np.sqrt(np.bincount(key_rows, weights=values * values, minlength=n_rows))
    norms[norms == 0] = 1.0
    return key_rows, key_columns, values / norms[key_rows]


def _log_tf(counts: Counter) -> np.ndarray:
    """Sublinear term frequencies ``1 + log(tf)`` of counted n-grams, in the Counter's order."""
    return np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1.0


def _tfidf_entries_one(columns: Sequence[int], idf: np.ndarray) -> Entries:
    """:func:`_tfidf_entries` for one row: counted by ``collections.Counter`` (a C loop;
    for one paper a dict beats ``np.unique``'s sort), then sorted by column as a CSR row
    needs."""
    counts = Counter(columns)
    keys = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    values = _log_tf(counts) * idf[keys]
    norm = float(np.sqrt(values @ values)) or 1.0
    order = np.argsort(keys)
    return np.zeros(len(keys), dtype=np.int64), keys[order], values[order] / norm


def scaled_to_length(dense: np.ndarray, weight: float) -> np.ndarray:
    """Rows (or one vector) scaled to length ``weight``; all-zero rows stay zero."""
    norms = np.linalg.norm(dense, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (dense / norms * np.float32(weight)).astype(np.float32)


def scaled_representation(representation: Any, vectors: np.ndarray,
                          weight: float) -> np.ndarray:
    """A representation's vectors at scale ``weight``: unit length times ``weight`` for
    directions, times ``weight`` where its ``normalise`` is False (probabilities)."""
    if getattr(representation, "normalise", True):
        return scaled_to_length(vectors, weight)
    return vectors * np.float32(weight)


class _RowTables(NamedTuple):
    """What :meth:`ThemeFeatures.one_row` looks n-grams up in. ``word_columns`` maps both
    words and word pairs (tuples) to columns; each idf array has a 0 appended, so the column
    -1 given to unknown n-grams weighs nothing."""

    word_columns: dict
    word_idf: np.ndarray
    lsa_columns: dict
    lsa_idf: np.ndarray


def _normalised_tfidf(counts: Counter, log_tf: np.ndarray, column_of: dict,
                      idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row's L2-normalised TF-IDF as ``(columns, values)`` over a Counter's n-grams:
    n-grams missing from ``column_of`` get column -1 and (through ``idf[-1] == 0``) value 0,
    so no mask or copy is needed."""
    columns = np.fromiter(map(column_of.get, counts, repeat(-1, len(counts))), dtype=np.int64,
                          count=len(counts))
    values = log_tf * idf.take(columns)
    norm = float(np.sqrt(values @ values)) or 1.0
    return columns, values / norm


def _adjacent(words: Sequence[str]) -> Iterable[tuple[str, str]]:
    """The word pairs (bigrams) of a word list, as the keys of ``NgramLookup.pairs``."""
    return zip(words, words[1:], strict=False)


def _csr(entries: Entries, shape: tuple[int, int]) -> sp.csr_matrix:
    """One CSR matrix from row-major sorted entries."""
    rows, columns, values = entries
    indptr = np.searchsorted(rows, np.arange(shape[0] + 1))
    return sp.csr_matrix(
        (values.astype(np.float32), columns.astype(np.int32), indptr), shape=shape)


def _tfidf_rows(columns: Sequence[Sequence[int]], idf: np.ndarray) -> sp.csr_matrix:
    """:func:`_tfidf_entries` as a CSR matrix."""
    return _csr(_tfidf_entries(columns, idf), (len(columns), len(idf)))


def _sum_entries(parts: list[Entries], n_columns: int) -> Entries:
    """Add entry lists that may share cells (body and title word blocks)."""
    if len(parts) == 1:
        return parts[0]
    rows = np.concatenate([part[0] for part in parts])
    keys = rows * n_columns + np.concatenate([part[1] for part in parts])
    unique, inverse = np.unique(keys, return_inverse=True)
    values = np.bincount(inverse, weights=np.concatenate([part[2] for part in parts]))
    key_rows, key_columns = np.divmod(unique, n_columns)
    return key_rows, key_columns, values


def _merge_columns(parts: list[Entries], shape: tuple[int, int]) -> sp.csr_matrix:
    """One CSR matrix from blocks that sit side by side (each row-major sorted, column ranges
    increasing from part to part): every entry's position is computed, nothing is sorted."""
    n_rows = shape[0]
    counts = [np.bincount(part[0], minlength=n_rows) for part in parts]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.sum(counts, axis=0), out=indptr[1:])
    size = int(indptr[-1])
    columns = np.empty(size, dtype=np.int32)
    values = np.empty(size, dtype=np.float32)
    before = indptr[:-1].copy()  # where this part's entries of each row start
    for (rows, part_columns, part_values), count in zip(parts, counts, strict=True):
        part_start = np.zeros(n_rows, dtype=np.int64)
        np.cumsum(count[:-1], out=part_start[1:])
        positions = before[rows] + (np.arange(len(rows)) - part_start[rows])
        columns[positions] = part_columns
        values[positions] = part_values
        before += count
    return sp.csr_matrix((values, columns, indptr), shape=shape)


def _block_entries(block: np.ndarray | sp.spmatrix) -> Entries:
    """Non-zero entries of a dense or sparse block."""
    if sp.issparse(block):
        coo = block.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    rows, columns = np.nonzero(block)
    return rows.astype(np.int64), columns.astype(np.int64), block[rows, columns]


class NgramLookup:
    """Fast lemma uni/bigram -> column lookup built from a fitted vectorizer's vocabulary."""

    def __init__(self, vocabulary: dict[str, int]):
        self.unigrams: dict[str, int] = {}
        self.bigrams: dict[str, dict[str, int]] = {}
        for gram, column in vocabulary.items():
            parts = gram.split(" ")
            if len(parts) == 1:
                self.unigrams[gram] = column
            elif len(parts) == 2:
                self.bigrams.setdefault(parts[0], {})[parts[1]] = column
        self._index_pairs()

    def _index_pairs(self) -> None:
        # (first, second) -> column: ``zip`` yields exactly these tuples, so the bigram scan
        # runs as one C-level map instead of a Python loop. Derived, not pickled.
        self.pairs = {(first, second): column for first, following in self.bigrams.items()
                       for second, column in following.items()}

    def __getstate__(self) -> dict:
        return {"unigrams": self.unigrams, "bigrams": self.bigrams}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._index_pairs()

    def columns(self, words: Sequence[str]) -> list[int]:
        """Columns of the words' uni- and bigrams found in the vocabulary: unigrams in word
        order, then bigrams in word order."""
        found = [j for j in map(self.unigrams.get, words) if j is not None]
        if self.pairs:
            found += [j for j in map(self.pairs.get, _adjacent(words)) if j is not None]
        return found

    def column(self, gram: Sequence[str]) -> int | None:
        """The column of one uni- or bigram (a lemma sequence), or None."""
        if len(gram) == 1:
            return self.unigrams.get(gram[0])
        if len(gram) == 2:
            return self.bigrams.get(gram[0], {}).get(gram[1])
        return None


class Lemmatised:
    """A batch of records lemmatised once, shared by every feature block; the content words
    of each field are computed once too, on first use."""

    __slots__ = ("titles", "abstracts", "_content")

    def __init__(self, fields: Fields):
        self.titles = [lemmas(title) for title in fields.titles]
        self.abstracts = [lemmas(abstract) for abstract in fields.abstracts]
        self._content: tuple[list[list[str]], list[list[str]]] | None = None

    def __len__(self) -> int:
        return len(self.abstracts)

    def papers(self) -> list[list[str]]:
        """Title and abstract lemmas of each paper, one list (for bag-of-words blocks)."""
        return [t + a for t, a in zip(self.titles, self.abstracts, strict=True)]

    def content(self) -> tuple[list[list[str]], list[list[str]]]:
        """Content words (see :func:`content_words`) of the titles and of the abstracts."""
        if self._content is None:
            self._content = ([content_words(t) for t in self.titles],
                             [content_words(a) for a in self.abstracts])
        return self._content


class ThemeFeatures(TransformerMixin, BaseEstimator):
    """Word, taxonomy-phrase, LSA and (optionally) feed-representation features of papers.

    Parameters
    ----------
    theme_phrases : per theme, its indicator phrases (from the taxonomy). Empty: no phrase block.
    word_max_n : longest word n-gram (1 or 2). Bigrams catch "state space", "time series".
    word_min_df : a word n-gram must occur in this many training papers; 2 drops typos and
        one-off names that cannot generalise.
    word_max_features : vocabulary cap, keeps the artifact small.
    title_weight : the title's own TF-IDF row is added to the word block with this weight.
    phrase_weight : scale of the phrase blocks relative to the TF-IDF block.
    title_phrases : add a second phrase block counting matches in the title only.
    lsa_components : dimensions of the LSA block (0: none); fitted on the training papers and
        the ``unlabelled`` papers given to ``fit``.
    lsa_weight : scale of the (L2-normalised) LSA block.
    lsa_min_df : document frequency a word needs to enter the LSA vocabulary.
    representation : a prefit representation (``transform(lemma_lists) -> (n, d) array``) learnt
        elsewhere, e.g. from the arXiv feed; ``fit`` does not refit it. None: no such block.
    representation_weight : scale of the representation block (L2-normalised first unless
        the representation's ``normalise`` is False, as for category probabilities).
    idf_reference : document frequencies of the word n-grams in a reference corpus (a
        :class:`tagger.representations.DocumentFrequencies`, e.g. of a feed sample): the word
        block's IDF is then estimated on the training papers and that corpus together rather
        than on the training papers alone. None: training papers only. Like every parameter
        it is pickled with the model, so a reference of millions of n-grams makes a large
        artifact (an experiment option, not part of the shipped design).
    """

    def __init__(
        self,
        theme_phrases: Sequence[Sequence[str]] = (),
        word_max_n: int = 2,
        word_min_df: int = 2,
        word_max_features: int | None = 60000,
        title_weight: float = 0.0,
        phrase_weight: float = 1.0,
        title_phrases: bool = False,
        lsa_components: int = 300,
        lsa_weight: float = 1.5,
        lsa_min_df: int = 5,
        representation: Any = None,
        representation_weight: float = 1.0,
        idf_reference: Any = None,
    ):
        self.theme_phrases = theme_phrases
        self.word_max_n = word_max_n
        self.word_min_df = word_min_df
        self.word_max_features = word_max_features
        self.title_weight = title_weight
        self.phrase_weight = phrase_weight
        self.title_phrases = title_phrases
        self.lsa_components = lsa_components
        self.lsa_weight = lsa_weight
        self.lsa_min_df = lsa_min_df
        self.representation = representation
        self.representation_weight = representation_weight
        self.idf_reference = idf_reference

    def fit(self, X: Any, y: Any = None, unlabelled: Any = None) -> ThemeFeatures:
        """Learn the vocabulary (and the LSA projection, also from ``unlabelled`` records)."""
        if self.word_max_n not in (1, 2):
            raise ValueError(f"word_max_n must be 1 or 2, not {self.word_max_n!r}")
        from sklearn.feature_extraction.text import TfidfVectorizer

        # A refit replaces what an unpickled model held and what was derived from it.
        self.__dict__.pop("_pickled_", None)
        self.__dict__.pop("_row_tables_", None)
        batch = Lemmatised(as_fields(X))
        try:
            vectorizer = TfidfVectorizer(
                analyzer=LemmaNgrams(self.word_max_n),
                min_df=self.word_min_df,
                max_features=self.word_max_features,
                sublinear_tf=True,
                dtype=np.float32,
            ).fit(list(zip(batch.titles, batch.abstracts, strict=True)))
        except ValueError as error:  # scikit-learn's words are about its own parameters
            raise ValueError(
                f"cannot build a vocabulary from {len(batch)} papers: no word occurs in "
                f"{self.word_min_df} of them (word_min_df); more or longer abstracts are "
                f"needed ({error})") from None
        self.word_vectorizer_ = _drop_stop_words(vectorizer)
        self.word_idf_ = vectorizer.idf_
        if self.idf_reference is not None:
            self.word_idf_ = self.idf_reference.pooled_idf(
                vectorizer.vocabulary_, vectorizer.idf_, len(batch)).astype(vectorizer.idf_.dtype)
        self.word_lookup_ = NgramLookup(self.word_vectorizer_.vocabulary_)
        self.phrase_index_ = PhraseIndex(self.theme_phrases) if self.theme_phrases else None
        self.n_word_features_ = len(self.word_vectorizer_.vocabulary_)
        papers = batch.papers()
        if unlabelled is not None:
            papers += Lemmatised(as_fields(unlabelled)).papers()
        self._fit_lsa(papers)
        self.n_features_out_ = len(self._feature_names())
        return self

    def _fit_lsa(self, lemma_lists: list[list[str]]) -> None:
        """Latent semantic analysis over content-word unigrams: a dense, low-rank view in
        which words that co-occur (in labelled and unlabelled abstracts alike) land close
        together. At tagging time it costs one small sparse-dense product."""
        self.lsa_vectorizer_ = self.lsa_lookup_ = self.lsa_projection_ = self.lsa_idf_ = None
        if not self.lsa_components:
            return
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = _drop_stop_words(TfidfVectorizer(
            analyzer=LemmaNgrams(1), min_df=self.lsa_min_df, sublinear_tf=True,
            dtype=np.float32).fit([(x,) for x in lemma_lists]))
        lookup = NgramLookup(vectorizer.vocabulary_)
        matrix = _tfidf_rows([lookup.columns(content_words(x)) for x in lemma_lists],
                             vectorizer.idf_)
        rank = min(self.lsa_components, matrix.shape[1] - 1, matrix.shape[0] - 1)
        if rank < 2:
            return
        from sklearn.decomposition import TruncatedSVD  # fit-time only (see classifier.py)

        svd = TruncatedSVD(n_components=rank, algorithm="randomized", n_iter=5,
                           random_state=0).fit(matrix)
        self.lsa_vectorizer_, self.lsa_lookup_ = vectorizer, lookup
        self.lsa_idf_ = vectorizer.idf_
        self.lsa_projection_ = np.ascontiguousarray(svd.components_.T, dtype=np.float32)

    # -- pickling ------------------------------------------------------------------------
    # The fitted vectorizers stay for introspection and feature names; scoring reads only the
    # arrays and lookups above. They are pickled as nested bytes and unpickled on first use,
    # so loading a model to tag never imports sklearn.feature_extraction, which (with the
    # preprocessing and SciPy modules it imports) was a fifth of a one-abstract `tagger tag`
    # run (benchmarks/cli_startup.py). The bytes are part of the verified model file.

    _DEFERRED = ("word_vectorizer_", "lsa_vectorizer_")

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_row_tables_", None)  # derived: rebuilt on first use
        pickled = dict(state.pop("_pickled_", None) or {})
        for name in self._DEFERRED:
            if state.get(name) is not None:
                value = state.pop(name)
                if name not in pickled:  # unpickled from these very bytes: keep them
                    pickled[name] = pickle.dumps(value, protocol=5)
        if pickled:
            state["_pickled_"] = pickled
        return state

    def __setstate__(self, state: dict) -> None:
        # The shipped model predates idf_reference: see fill_new_parameters.
        super().__setstate__(fill_new_parameters(type(self), state))
        fitted = self.__dict__
        if "word_idf_" not in fitted and fitted.get("word_vectorizer_") is not None:
            # pickled before the idf arrays were kept beside the vectorizers
            self.word_idf_ = fitted["word_vectorizer_"].idf_
            lsa = fitted.get("lsa_vectorizer_")
            self.lsa_idf_ = None if lsa is None else lsa.idf_

    def __getattr__(self, name: str) -> Any:
        """Only called for attributes not found normally: a deferred vectorizer. The bytes
        are kept, so two threads asking at once both get a vectorizer (equal ones)."""
        data = (self.__dict__.get("_pickled_") or {}).get(name)
        if data is not None:
            value = pickle.loads(data)  # noqa: S301 - bytes of a verified model
            return self.__dict__.setdefault(name, value)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- blocks ---------------------------------------------------------------------------

    def _word_entries(self, batch: Lemmatised) -> Entries:
        """Paper TF-IDF (title and abstract, n-grams within each) plus the title's own row."""
        idf = self.word_idf_
        columns = self.word_lookup_.columns
        titles, abstracts = batch.content()
        title_columns = [columns(t) for t in titles]
        paper = _tfidf_entries(
            [t + columns(a) for t, a in zip(title_columns, abstracts, strict=True)], idf)
        if not self.title_weight:
            return paper
        rows, cols, values = _tfidf_entries(title_columns, idf)
        return _sum_entries([paper, (rows, cols, values * self.title_weight)], len(idf))

    def _phrase_counts(self, lemma_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Taxonomy-phrase matches per theme in each lemma list, an (n, themes) array."""
        index = self.phrase_index_
        return np.array([index.counts(words) for words in lemma_lists],
                        dtype=np.float32).reshape(len(lemma_lists), index.n_themes)

    def _phrase_block(self, counts: np.ndarray) -> np.ndarray:
        return np.log1p(counts) * np.float32(self.phrase_weight)

    def _lsa_block(self, batch: Lemmatised) -> np.ndarray:
        columns = self.lsa_lookup_.columns
        titles, abstracts = batch.content()
        rows = [columns(t + a) for t, a in zip(titles, abstracts, strict=True)]
        dense = np.asarray(_tfidf_rows(rows, self.lsa_idf_) @ self.lsa_projection_)
        return scaled_to_length(dense, self.lsa_weight)

    def _phrase_blocks(self, batch: Lemmatised) -> list[np.ndarray]:
        """The paper's (and, with ``title_phrases``, the title's) phrase blocks."""
        if self.phrase_index_ is None:
            return []
        # A phrase never spans the title and the abstract, so the paper's counts are the sum
        # of the fields' counts: each field is matched once.
        title_counts = self._phrase_counts(batch.titles)
        blocks = [self._phrase_block(title_counts + self._phrase_counts(batch.abstracts))]
        if self.title_phrases:
            blocks.append(self._phrase_block(title_counts))
        return blocks

    def _representation_block(self, batch: Lemmatised) -> np.ndarray:
        # Content words, not all lemmas: every representation term is made of content words
        # and a stop word never breaks a collocation, so the vectors are the same (tested)
        # and a third fewer words are looked up.
        titles, abstracts = batch.content()
        papers = [t + a for t, a in zip(titles, abstracts, strict=True)]
        return self._scaled_representation(
            np.asarray(self.representation.transform(papers), dtype=np.float32))

    def _representation_vector(self, lemma_list: list[str]) -> np.ndarray:
        """One paper's representation block (its title and abstract content words, as one
        list)."""
        one = getattr(self.representation, "transform_one", None)
        vector = one(lemma_list) if one else self.representation.transform([lemma_list])[0]
        return self._scaled_representation(np.asarray(vector, dtype=np.float32))

    def _scaled_representation(self, vectors: np.ndarray) -> np.ndarray:
        return scaled_representation(self.representation, vectors, self.representation_weight)

    def _dense_blocks(self, batch: Lemmatised) -> list[np.ndarray]:
        blocks = self._phrase_blocks(batch)
        if self.lsa_projection_ is not None:
            blocks.append(self._lsa_block(batch))
        if self.representation is not None:
            blocks.append(self._representation_block(batch))
        return blocks

    def transform(self, X: Any) -> sp.csr_matrix:
        """Features of the records ``X``, one row each."""
        check_is_fitted(self, "word_idf_")
        return self.transform_lemmatised(Lemmatised(as_fields(X)))

    def entries_lemmatised(self, batch: Lemmatised) -> tuple[list[Entries], int]:
        """The feature blocks of a lemmatised batch as entry lists (column ranges increasing
        from block to block) and the total width."""
        parts = [self._word_entries(batch)]
        width = self.n_word_features_
        for block in self._dense_blocks(batch):
            rows, columns, values = _block_entries(block)
            parts.append((rows, columns + width, values))
            width += block.shape[1]
        return parts, width

    def one_row(self, batch: Lemmatised) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The features of a one-paper batch (the API's case) as ``(columns, values, dense)``:
        the word block's entries, where a column may occur more than once (the title's row
        adds to the paper's, and a dot product sums them; n-grams outside the vocabulary
        point at the last column with value 0), and every dense block side by side (columns
        ``n_word_features_`` onwards). Equal to :meth:`transform_lemmatised`'s row (tested),
        computed differently because for one abstract the batch path's bookkeeping cost more
        than the arithmetic: the paper's words and word pairs are counted once by
        ``Counter`` (a C loop), and every vocabulary looks the distinct ones up in one pass."""
        tables = self._row_tables()
        (title,), (abstract,) = batch.content()
        grams = Counter(title)
        grams.update(abstract)
        grams.update(_adjacent(title))
        grams.update(_adjacent(abstract))
        log_tf = _log_tf(grams)
        columns, values = _normalised_tfidf(grams, log_tf, tables.word_columns, tables.word_idf)
        if self.title_weight and title:
            own = Counter(title)
            own.update(_adjacent(title))
            own_columns, own_values = _normalised_tfidf(own, _log_tf(own), tables.word_columns,
                                                        tables.word_idf)
            columns = np.concatenate([columns, own_columns])
            values = np.concatenate([values, own_values * self.title_weight])
        blocks = [block[0] for block in self._phrase_blocks(batch)]
        if self.lsa_projection_ is not None:
            lsa_columns, lsa_values = _normalised_tfidf(grams, log_tf, tables.lsa_columns,
                                                        tables.lsa_idf)
            used = np.flatnonzero(lsa_values)  # pairs and rare words: not in the LSA vocabulary
            blocks.append(scaled_to_length(
                lsa_values.take(used).astype(np.float32)
                @ self.lsa_projection_.take(lsa_columns.take(used), axis=0), self.lsa_weight))
        if self.representation is not None:
            blocks.append(self._representation_vector(title + abstract))
        dense = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
        return columns, values, dense

    def _row_tables(self) -> _RowTables:
        """Lookups for :meth:`one_row`, derived from the fitted vocabularies once per loaded
        model (not pickled)."""
        tables = self.__dict__.get("_row_tables_")
        if tables is None:
            lsa = self.lsa_lookup_
            tables = _RowTables(
                word_columns={**self.word_lookup_.unigrams, **self.word_lookup_.pairs},
                word_idf=np.append(self.word_idf_, 0.0),
                lsa_columns=lsa.unigrams if lsa is not None else {},
                lsa_idf=np.append(self.lsa_idf_, 0.0) if lsa is not None else np.zeros(1))
            self.__dict__["_row_tables_"] = tables
        return tables

    def transform_lemmatised(self, batch: Lemmatised) -> sp.csr_matrix:
        """Features of an already lemmatised batch. Every block is gathered as entries and
        one CSR matrix is built at the end: building sparse matrices block by block cost more
        than the arithmetic when tagging a single abstract (the API's case)."""
        parts, width = self.entries_lemmatised(batch)
        return _merge_columns(parts, (len(batch), width))

    def _feature_names(self) -> list[str]:
        names = [f"word:{g}" for g in self.word_vectorizer_.get_feature_names_out()]
        if self.phrase_index_ is not None:
            names += [f"phrase:{i}" for i in range(self.phrase_index_.n_themes)]
            if self.title_phrases:
                names += [f"title-phrase:{i}" for i in range(self.phrase_index_.n_themes)]
        if self.lsa_projection_ is not None:
            names += [f"lsa:{i}" for i in range(self.lsa_projection_.shape[1])]
        if self.representation is not None:
            names += [f"representation:{i}" for i in range(int(self.representation.dim))]
        return names

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of all columns, in order: ``word:<n-gram>``, ``phrase:<theme index>``,
        ``title-phrase:<theme index>``, ``lsa:<k>``, ``representation:<k>``."""
        check_is_fitted(self, "word_idf_")
        return np.asarray(self._feature_names(), dtype=object)
