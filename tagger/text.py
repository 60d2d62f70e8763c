"""Text processing: turn an abstract into lowercase lemmas with character offsets.

Lemmas come from spaCy's English lookup lemmatizer table (``spacy-lookups-data``), the same
data ``spacy.blank("en")`` with ``lemmatizer(mode="lookup")`` uses. Tokens are cut by one
compiled regex instead of spaCy's tokenizer: on this project's abstracts the full spaCy
pipeline tokenises ~800 abstracts/s per core, this ~7,000/s, and the bulk target is 5,000/s
on two cores. Hyphenated words are split (``non-autoregressive`` -> ``non autoregressive``)
so phrases match with or without the hyphen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import srsly


def _spacy_stop_words() -> set[str]:
    """spaCy's English stop words, read from spaCy's own module file without importing the
    ``spacy`` package: that import (typer, rich, pydantic, thinc...) was a third of the start-up
    time of ``tagger tag --text`` (issue 12), and the list is all this module uses."""
    from importlib.util import find_spec

    spec = find_spec("spacy")  # locates the package without importing it
    assert spec is not None and spec.origin is not None, "spacy is a dependency"
    path = Path(spec.origin).parent / "lang" / "en" / "stop_words.py"
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    return namespace["STOP_WORDS"]


STOP_WORDS = _spacy_stop_words()

_TOKEN = re.compile(r"[^\W_]+")
# For ASCII text: letters (lowercased) and digits kept, every other byte a space, so
# ``split()`` cuts exactly where ``_TOKEN`` does, at about a third of the cost (one C-level
# ``bytes.translate`` instead of the regex engine; most abstracts are ASCII).
_ASCII_WORDS = bytes(b if b < 128 and chr(b).isalnum() else 32 for b in range(256)).lower()

# spaCy's stop words, plus a few words every abstract uses and that carry no theme.
STOPWORDS = frozenset(STOP_WORDS) | {
    "paper", "propose", "proposed", "approach", "method", "result", "show", "use",
    "using", "based", "work", "new", "et", "al",
}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its lemma and where its surface form sits in the original text."""

    lemma: str
    start: int
    end: int


@cache
def _lemma_table() -> dict[str, str]:
    """spaCy's English lookup lemma table as a plain dict (loaded once per process)."""
    path = resources.files("spacy_lookups_data") / "data" / "en_lemma_lookup.json.gz"
    with resources.as_file(path) as file:
        table = srsly.read_gzip_json(file)
    # Keep lemmas for lowercase keys only: our tokens are lowercased before lookup.
    return {key: value.lower() for key, value in table.items() if key.islower()}


def lemmatize_word(word: str) -> str:
    """Lemma of one lowercase word (the word itself when the table does not know it)."""
    return _lemma_table().get(word, word)


def tokenize(text: str) -> list[Token]:
    """Lowercase lemma tokens with offsets into ``text`` (used by explanations)."""
    table = _lemma_table()
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match.group().lower()
        tokens.append(Token(table.get(word, word), match.start(), match.end()))
    return tokens


def words(text: str) -> list[str]:
    """Lowercase words of ``text``: maximal runs of letters and digits (``_TOKEN``)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    return _TOKEN.findall(text.lower())


def lemmas(text: str) -> list[str]:
    """Lowercase lemmas of ``text``; the hot path of feature extraction, so kept minimal."""
    found = words(text)
    return list(map(_lemma_table().get, found, found))  # get(word, word), C-level loop


def phrase_lemmas(phrase: str) -> tuple[str, ...]:
    """A taxonomy phrase in the same normal form as :func:`lemmas` output."""
    return tuple(lemmas(phrase))
