"""The one place that turns text into features.

:class:`ThemeFeatures` is a scikit-learn transformer producing, side by side:

* TF-IDF over lemma unigrams and bigrams (stop words removed): the theme vocabulary. The
  title's n-grams are added once more with ``title_weight``: a title names what a paper is
  centrally about, the abstract also names what it merely mentions;
* per-theme counts of the taxonomy's indicator phrases (log-scaled): prior knowledge that
  works even for themes with a handful of labelled examples;
* optionally character n-grams, either ``char_mode="words"`` (n-grams of each distinct lemma,
  looked up once per word and cached, so cheap enough for bulk tagging) or ``"text"`` (the
  classic ``char_wb`` analyzer over the raw text: ~5x slower end to end).

Text is lemmatised once per document and shared by all blocks. ``transform`` does not go
through ``TfidfVectorizer.transform``: n-grams are looked up in nested dicts (no bigram string
is built) and the TF-IDF rows are assembled with numpy, which matters because feature
extraction is most of the cost of tagging thousands of abstracts a second. The result is the
same matrix (tested against scikit-learn).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from tagger.phrases import PhraseIndex
from tagger.text import STOPWORDS, lemmas

# Longest title that is treated as one: ``Document.text`` is ``title + ".\n" + abstract``.
MAX_TITLE_CHARS = 300


def is_content_word(lemma: str) -> bool:
    """Whether a lemma can carry theme meaning (not a stop word, a number or a single letter)."""
    return len(lemma) > 1 and lemma not in STOPWORDS and not lemma.isdigit()


def content_words(lemma_list: Iterable[str]) -> list[str]:
    return [w for w in lemma_list if len(w) > 1 and w not in STOPWORDS and not w.isdigit()]


def split_title(text: str) -> str:
    """The title part of a ``Document.text`` (empty when the text has no title line)."""
    head, newline, _rest = text.partition("\n")
    return head if newline and len(head) <= MAX_TITLE_CHARS else ""


class LemmaNgrams:
    """Analyzer for TfidfVectorizer: content-word lemma n-grams from a lemma list.

    A class rather than a closure so fitted vectorizers pickle.
    """

    def __init__(self, max_n: int = 2):
        self.max_n = max_n

    def __call__(self, lemma_list: Sequence[str]) -> list[str]:
        words = content_words(lemma_list)
        grams = list(words)
        for n in range(2, self.max_n + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams


class WordCharGrams:
    """Analyzer: character n-grams (padded with spaces) of each *distinct* content lemma."""

    def __init__(self, ngram_range: tuple[int, int] = (3, 5)):
        self.ngram_range = tuple(ngram_range)

    def grams(self, word: str) -> list[str]:
        padded = f" {word} "
        low, high = self.ngram_range
        return [padded[i : i + n] for n in range(low, high + 1)
                for i in range(len(padded) - n + 1)]

    def __call__(self, lemma_list: Sequence[str]) -> list[str]:
        return [g for word in sorted(set(content_words(lemma_list))) for g in self.grams(word)]


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
    lengths = np.fromiter(map(len, columns), dtype=np.int64, count=n_rows)
    flat = np.fromiter(chain.from_iterable(columns), dtype=np.int64, count=int(lengths.sum()))
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    keys, counts = np.unique(rows * n_columns + flat, return_counts=True)
    key_rows, key_columns = np.divmod(keys, n_columns)
    values = (np.log(counts) + 1.0) * idf[key_columns]
    norms = np.sqrt(np.bincount(key_rows, weights=values * values, minlength=n_rows))
    norms[norms == 0] = 1.0
    return key_rows, key_columns, values / norms[key_rows]


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


class _NgramLookup:
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

    def columns(self, words: Sequence[str]) -> list[int]:
        uni = self.unigrams.get
        bi = self.bigrams.get
        found = [j for j in map(uni, words) if j is not None]
        for first, second in zip(words, words[1:], strict=False):
            following = bi(first)
            if following is not None:
                column = following.get(second)
                if column is not None:
                    found.append(column)
        return found


class _CharLookup:
    """Per-word cache of character n-gram columns; the cache is rebuilt after unpickling."""

    def __init__(self, analyzer: WordCharGrams, vocabulary: dict[str, int]):
        self.analyzer = analyzer
        self.vocabulary = vocabulary
        self._cache: dict[str, list[int]] = {}

    def __getstate__(self) -> dict:
        return {"analyzer": self.analyzer, "vocabulary": self.vocabulary}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache = {}

    def columns(self, words: Iterable[str]) -> list[int]:
        cache = self._cache
        found: list[int] = []
        for word in set(words):
            cols = cache.get(word)
            if cols is None:
                vocabulary = self.vocabulary
                cols = [vocabulary[g] for g in self.analyzer.grams(word) if g in vocabulary]
                if len(cache) < 200_000:
                    cache[word] = cols
            found.extend(cols)
        return found


class ThemeFeatures(TransformerMixin, BaseEstimator):
    """Word, taxonomy-phrase and (optionally) character features of paper texts.

    Parameters
    ----------
    theme_phrases : per theme, its indicator phrases (from the taxonomy). Empty: no phrase block.
    word_max_n : longest word n-gram (1 or 2). Bigrams catch "state space", "time series".
    word_min_df : a word n-gram must occur in this many training texts; 2 drops typos and
        one-off names that cannot generalise.
    word_max_features : vocabulary cap, keeps the artifact small.
    title_weight : the title's own TF-IDF row is added to the word block with this weight.
    char_mode : None (no character block), ``"words"`` or ``"text"`` (see module docstring).
    char_ngram_range : character n-gram sizes.
    char_max_features : vocabulary cap of the character block.
    phrase_weight : scale of the phrase block relative to the TF-IDF blocks.
    title_phrases : add a second phrase block counting matches in the title only.
    char_weight : scale of the character block.
    """

    def __init__(
        self,
        theme_phrases: Sequence[Sequence[str]] = (),
        word_max_n: int = 2,
        word_min_df: int = 2,
        word_max_features: int | None = 60000,
        title_weight: float = 0.0,
        char_mode: str | None = None,
        char_ngram_range: tuple[int, int] = (3, 5),
        char_max_features: int | None = 60000,
        phrase_weight: float = 1.0,
        title_phrases: bool = False,
        char_weight: float = 1.0,
        lsa_components: int = 300,
        lsa_weight: float = 1.5,
        lsa_min_df: int = 5,
    ):
        self.theme_phrases = theme_phrases
        self.word_max_n = word_max_n
        self.word_min_df = word_min_df
        self.word_max_features = word_max_features
        self.title_weight = title_weight
        self.char_mode = char_mode
        self.char_ngram_range = char_ngram_range
        self.char_max_features = char_max_features
        self.phrase_weight = phrase_weight
        self.title_phrases = title_phrases
        self.char_weight = char_weight
        self.lsa_components = lsa_components
        self.lsa_weight = lsa_weight
        self.lsa_min_df = lsa_min_df

    def fit(
        self, texts: Sequence[str], y=None, unlabelled_texts: Sequence[str] = ()
    ) -> ThemeFeatures:
        """Learn vocabularies (and the LSA projection, also from ``unlabelled_texts``)."""
        if self.word_max_n not in (1, 2):
            raise ValueError(f"word_max_n must be 1 or 2, not {self.word_max_n!r}")
        if self.char_mode not in (None, "words", "text"):
            raise ValueError(f"char_mode must be None, 'words' or 'text', not {self.char_mode!r}")
        lemma_lists = [lemmas(text) for text in texts]
        self.word_vectorizer_ = _drop_stop_words(
            TfidfVectorizer(
                analyzer=LemmaNgrams(self.word_max_n),
                min_df=self.word_min_df,
                max_features=self.word_max_features,
                sublinear_tf=True,
                dtype=np.float32,
            ).fit(lemma_lists)
        )
        self.word_lookup_ = _NgramLookup(self.word_vectorizer_.vocabulary_)
        self.char_vectorizer_ = None
        self.char_lookup_ = None
        if self.char_mode is not None:
            char_params = dict(
                min_df=self.word_min_df,
                max_features=self.char_max_features,
                sublinear_tf=True,
                dtype=np.float32,
            )
            if self.char_mode == "words":
                analyzer = WordCharGrams(tuple(self.char_ngram_range))
                self.char_vectorizer_ = _drop_stop_words(
                    TfidfVectorizer(analyzer=analyzer, **char_params).fit(lemma_lists))
                self.char_lookup_ = _CharLookup(analyzer, self.char_vectorizer_.vocabulary_)
            else:
                self.char_vectorizer_ = _drop_stop_words(
                    TfidfVectorizer(analyzer="char_wb", lowercase=True,
                                    ngram_range=tuple(self.char_ngram_range),
                                    **char_params).fit(texts))
        self.phrase_index_ = PhraseIndex(self.theme_phrases) if self.theme_phrases else None
        self.n_word_features_ = len(self.word_vectorizer_.vocabulary_)
        self._fit_lsa(lemma_lists + [lemmas(text) for text in unlabelled_texts])
        return self

    def _fit_lsa(self, lemma_lists: list[list[str]]) -> None:
        """Latent semantic analysis over content-word unigrams: a dense, low-rank view in
        which words that co-occur (in labelled and unlabelled abstracts alike) land close
        together, so a paper can score on a theme through related words no labelled paper used.
        Fitting it on thousands of unlabelled abstracts is the semi-supervised part of the
        model; at tagging time it costs one small sparse-dense product."""
        self.lsa_vectorizer_ = self.lsa_lookup_ = self.lsa_projection_ = None
        if not self.lsa_components:
            return
        vectorizer = _drop_stop_words(TfidfVectorizer(
            analyzer=LemmaNgrams(1), min_df=self.lsa_min_df, sublinear_tf=True,
            dtype=np.float32).fit(lemma_lists))
        lookup = _NgramLookup(vectorizer.vocabulary_)
        matrix = _tfidf_rows([lookup.columns(content_words(x)) for x in lemma_lists],
                             vectorizer.idf_)
        rank = min(self.lsa_components, matrix.shape[1] - 1, matrix.shape[0] - 1)
        if rank < 2:
            return
        svd = TruncatedSVD(n_components=rank, algorithm="randomized", n_iter=5,
                           random_state=0).fit(matrix)
        self.lsa_vectorizer_, self.lsa_lookup_ = vectorizer, lookup
        self.lsa_projection_ = np.ascontiguousarray(svd.components_.T, dtype=np.float32)

    def _lsa_block(self, lemma_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """LSA coordinates: the unigram TF-IDF rows (one sparse matrix, built directly from
        entries) projected onto the fitted components, rows L2-normalised and weighted."""
        columns = self.lsa_lookup_.columns
        idf = self.lsa_vectorizer_.idf_
        matrix = _tfidf_rows([columns(content_words(x)) for x in lemma_lists], idf)
        dense = np.asarray(matrix @ self.lsa_projection_)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return dense / norms * np.float32(self.lsa_weight)

    def _word_block(self, lemma_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """The word TF-IDF block alone, as a matrix (what ``transform`` puts first)."""
        return _csr(self._word_entries(lemma_lists),
                    (len(lemma_lists), len(self.word_vectorizer_.idf_)))

    def _word_entries(self, lemma_lists: Sequence[Sequence[str]]) -> Entries:
        columns = self.word_lookup_.columns
        return _tfidf_entries([columns(content_words(x)) for x in lemma_lists],
                              self.word_vectorizer_.idf_)

    def _phrase_block(self, lemma_lists: Sequence[Sequence[str]]) -> np.ndarray:
        counts = np.array(
            [self.phrase_index_.counts(lemma_list) for lemma_list in lemma_lists],
            dtype=np.float32,
        ).reshape(len(lemma_lists), self.phrase_index_.n_themes)
        return np.log1p(counts) * np.float32(self.phrase_weight)

    def _char_block(self, texts: Sequence[str], lemma_lists) -> sp.csr_matrix:
        if self.char_lookup_ is not None:
            columns = self.char_lookup_.columns
            rows = [columns(content_words(lemma_list)) for lemma_list in lemma_lists]
            return _tfidf_rows(rows, self.char_vectorizer_.idf_) * self.char_weight
        return self.char_vectorizer_.transform(texts) * self.char_weight

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Features of ``texts``, one row each. Every block is gathered as entries and one
        CSR matrix is built at the end: building sparse matrices block by block cost more
        than the arithmetic when tagging a single abstract (the API's case)."""
        lemma_lists = [lemmas(text) for text in texts]
        title_lists = None
        if self.title_weight or self.title_phrases:
            title_lists = [lemmas(split_title(text)) for text in texts]
        n_words = len(self.word_vectorizer_.idf_)
        word_parts = [self._word_entries(lemma_lists)]
        if self.title_weight:
            rows, columns, values = self._word_entries(title_lists)
            word_parts.append((rows, columns, values * self.title_weight))
        blocks: list[np.ndarray | sp.spmatrix] = []
        if self.phrase_index_ is not None:
            blocks.append(self._phrase_block(lemma_lists))
            if self.title_phrases:
                blocks.append(self._phrase_block(title_lists))
        if self.char_vectorizer_ is not None:
            blocks.append(self._char_block(texts, lemma_lists))
        if getattr(self, "lsa_projection_", None) is not None:
            blocks.append(self._lsa_block(lemma_lists))
        parts = [_sum_entries(word_parts, n_words)]
        width = n_words
        for block in blocks:
            rows, columns, values = _block_entries(block)
            parts.append((rows, columns + width, values))
            width += block.shape[1]
        return _merge_columns(parts, (len(texts), width))

    def feature_names(self) -> list[str]:
        """Names of all columns, in order: word n-grams, ``phrase:THEME_INDEX``,
        ``title-phrase:THEME_INDEX``, ``char:..``."""
        names = list(self.word_vectorizer_.get_feature_names_out())
        if self.phrase_index_ is not None:
            names += [f"phrase:{i}" for i in range(self.phrase_index_.n_themes)]
            if self.title_phrases:
                names += [f"title-phrase:{i}" for i in range(self.phrase_index_.n_themes)]
        if self.char_vectorizer_ is not None:
            names += [f"char:{g}" for g in self.char_vectorizer_.get_feature_names_out()]
        if getattr(self, "lsa_projection_", None) is not None:
            names += [f"lsa:{i}" for i in range(self.lsa_projection_.shape[1])]
        return names
