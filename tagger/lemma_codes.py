"""A fitted :class:`~tagger.features.ThemeFeatures` as integer tables, for the compiled
one-paper path (:mod:`tagger.compiled`).

Every lemma that any fitted vocabulary (word n-grams, LSA, feed representation, taxonomy
phrases) knows gets a small integer code; unknown words get one of two extra codes (a content
word, or a word the features drop), so they keep their place in a sentence and still separate
word pairs as on the string path. What a scorer needs to know about a code sits in ONE row of
:attr:`LemmaCodes.info` (a few int32s, one cache line): looking a word up in every vocabulary
touches one line of memory instead of a dict entry and a key string per vocabulary, which is
what a busy server's cold CPU caches pay for (``benchmarks/request_path.py``, issue 11).
Word pairs are found from their first word's row: a short sorted run of second words.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tagger.features import BoundedMemo, ThemeFeatures, is_content_word
from tagger.text import _lemma_table, words

# Columns of LemmaCodes.info, one row per code.
CONTENT = 0  # 1 for a content word (n-grams are made of these), else 0
WORD = 1  # word-block column of the unigram, or -1
LSA = 2  # LSA-vocabulary column, or -1
TERM = 3  # feed-representation term of the unigram, or -1
WORD_PAIRS = 4  # [4], [5]: the code's run in word_pairs (pairs it starts)
TERM_PAIRS = 6  # [6], [7]: the code's run in term_pairs (collocations it starts)
PHRASES = 8  # [8], [9]: the code's run in the phrase rows (phrases it starts)
INFO_COLUMNS = 10


class _SurfaceCodes(BoundedMemo):
    """Lowercase surface word -> lemma code (lemma table, then the lemma's code), for the
    text the compiled reader hands back to Python."""

    def __init__(self, codes: dict[str, int], unknown_content: int, unknown_other: int):
        super().__init__()
        self._codes = codes
        self._unknown_content = unknown_content
        self._unknown_other = unknown_other
        self._lemma_of = _lemma_table()

    def code_of(self, word: str) -> int:
        """The code of one lowercase word, without remembering it."""
        lemma = self._lemma_of.get(word, word)
        code = self._codes.get(lemma)
        if code is None:
            code = self._unknown_content if is_content_word(lemma) else self._unknown_other
        return code

    compute = code_of


class LemmaCodes:
    """The integer tables of a fitted :class:`ThemeFeatures`.

    Build it with :meth:`compile` (None when a block has no integer form, e.g. a custom
    representation object: the caller then keeps the string path)."""

    def __init__(self, features: ThemeFeatures):
        word_lookup, lsa_lookup = features.word_lookup_, features.lsa_lookup_
        representation = features.representation
        term_lookup = representation._lookup if representation is not None else None
        phrase_index = features.phrase_index_
        lemmas = set(word_lookup.unigrams)
        lemmas.update(_pair_lemmas(word_lookup.bigrams))
        if lsa_lookup is not None:
            lemmas.update(lsa_lookup.unigrams)
        if term_lookup is not None:
            lemmas.update(term_lookup.unigrams)
            lemmas.update(_pair_lemmas(term_lookup.phrases))
        if phrase_index is not None:
            for phrase in phrase_index.table():
                lemmas.update(phrase)
        self.lemmas = sorted(lemmas)
        self.codes = {lemma: code for code, lemma in enumerate(self.lemmas)}
        known = len(self.lemmas)
        self.unknown_content, self.unknown_other = known, known + 1
        self.n_codes = known + 2
        self.surface = _SurfaceCodes(self.codes, self.unknown_content, self.unknown_other)

        info = np.full((self.n_codes, INFO_COLUMNS), -1, dtype=np.int32)
        info[:, CONTENT] = [is_content_word(x) for x in self.lemmas] + [1, 0]
        info[:, WORD_PAIRS:] = 0  # empty runs
        self.info = info
        self._fill(WORD, word_lookup.unigrams)
        self.word_pairs = self._pair_runs(WORD_PAIRS, word_lookup.bigrams)
        if lsa_lookup is not None and features.lsa_projection_ is not None:
            self._fill(LSA, lsa_lookup.unigrams)
        self.term_pairs = self._pair_runs(TERM_PAIRS, {})
        if term_lookup is not None:
            self._fill(TERM, term_lookup.unigrams)
            self.term_pairs = self._pair_runs(TERM_PAIRS, term_lookup.phrases)
        self.n_themes = phrase_index.n_themes if phrase_index is not None else 0
        self.phrases = self._phrase_rows(phrase_index.table() if phrase_index is not None
                                         else {})

    @classmethod
    def compile(cls, features: ThemeFeatures) -> LemmaCodes | None:
        """The integer form of ``features``, or None when its representation is not a
        :class:`tagger.representations.FeedRepresentation` (the only kind coded here)."""
        from tagger.representations import FeedRepresentation

        representation = features.representation
        if representation is not None and not isinstance(representation, FeedRepresentation):
            return None
        return cls(features)

    def _fill(self, column: int, columns_by_lemma: dict[str, int]) -> None:
        for lemma, j in columns_by_lemma.items():
            self.info[self.codes[lemma], column] = j

    def _pair_runs(self, column: int,
                   following: dict[str, dict[str, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``first -> {second: column}`` as ``(seconds, columns)`` sorted by (first,
        second), each first code's run recorded in ``info[:, column:column + 2]``."""
        pairs = sorted((self.codes[a], self.codes[b], j)
                       for a, seconds in following.items() for b, j in seconds.items())
        firsts = np.array([p[0] for p in pairs], dtype=np.int64)
        starts = np.searchsorted(firsts, np.arange(self.n_codes + 1))
        self.info[:, column] = starts[:-1]
        self.info[:, column + 1] = starts[1:]
        return (np.array([p[1] for p in pairs], dtype=np.int64),
                np.array([p[2] for p in pairs], dtype=np.int64))

    def _phrase_rows(self, by_lemmas: dict[tuple[str, ...], list[int]],
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The taxonomy phrases (lemma tuple -> themes, :meth:`PhraseIndex.table`) as
        ``(rows, lengths, theme_starts, themes)``: code rows padded with -1, grouped by first
        code (its run in ``info[:, PHRASES:PHRASES + 2]``) and longest first, the order
        :meth:`PhraseIndex.matches` tries them; each row's themes are
        ``themes[theme_starts[r]:theme_starts[r + 1]]``."""
        table = {tuple(self.codes[lemma] for lemma in key): themes
                 for key, themes in by_lemmas.items()}
        ordered = sorted(table, key=lambda key: (key[0], -len(key)))
        rows = np.full((len(ordered), max(map(len, ordered), default=1)), -1, dtype=np.int64)
        for i, key in enumerate(ordered):
            rows[i, :len(key)] = key
        starts = np.searchsorted(np.array([key[0] for key in ordered], dtype=np.int64),
                                 np.arange(self.n_codes + 1))
        self.info[:, PHRASES] = starts[:-1]
        self.info[:, PHRASES + 1] = starts[1:]
        theme_starts = np.zeros(len(ordered) + 1, dtype=np.int64)
        np.cumsum([len(table[key]) for key in ordered], out=theme_starts[1:])
        themes = np.array([t for key in ordered for t in table[key]], dtype=np.int64)
        return rows, np.array(list(map(len, ordered)), dtype=np.int64), theme_starts, themes

    def encode(self, text: str) -> np.ndarray:
        """The lemma codes of a text's words, in order (unknown words included)."""
        found = words(text)
        return np.fromiter(map(self.surface.__getitem__, found), dtype=np.int64,
                           count=len(found))


def _pair_lemmas(following: dict[str, dict[str, int]]) -> Iterable[str]:
    for first, seconds in following.items():
        yield first
        yield from seconds
