"""The one place that turns text into features.

:class:`ThemeFeatures` is a scikit-learn transformer producing, side by side:

* TF-IDF over lemma unigrams and bigrams (stop words removed): the theme vocabulary;
* TF-IDF over character n-grams inside word boundaries: robust to spelling, morphology and
  unseen compounds ("Mamba2", "autoregressively");
* per-theme counts of the taxonomy's indicator phrases (log-scaled): prior knowledge that
  works even for themes with a handful of labelled examples.

Text is lemmatised once per document and shared by the word and phrase blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from tagger.phrases import PhraseIndex
from tagger.text import STOPWORDS, lemmas


def is_content_word(lemma: str) -> bool:
    """Whether a lemma can carry theme meaning (not a stop word, a number or a single letter)."""
    return len(lemma) > 1 and lemma not in STOPWORDS and not lemma.isdigit()


class LemmaNgrams:
    """Analyzer for TfidfVectorizer: content-word lemma n-grams from a lemma list.

    A class rather than a closure so fitted vectorizers pickle.
    """

    def __init__(self, max_n: int = 2):
        self.max_n = max_n

    def __call__(self, lemma_list: Sequence[str]) -> list[str]:
        words = [w for w in lemma_list if is_content_word(w)]
        grams = list(words)
        for n in range(2, self.max_n + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams


def _drop_stop_words(vectorizer: TfidfVectorizer) -> TfidfVectorizer:
    """``stop_words_`` keeps every pruned term and can weigh megabytes; it is only for
    introspection (scikit-learn's docs recommend deleting it before pickling)."""
    if hasattr(vectorizer, "stop_words_"):
        del vectorizer.stop_words_
    return vectorizer


class ThemeFeatures(TransformerMixin, BaseEstimator):
    """Word, character and taxonomy-phrase features of paper texts.

    Parameters
    ----------
    theme_phrases : per theme, its indicator phrases (from the taxonomy). Empty: no phrase block.
    word_max_n : longest word n-gram. Bigrams catch "state space", "time series".
    word_min_df : a word n-gram must occur in this many training texts; 2 drops typos and
        one-off names that cannot generalise.
    word_max_features : vocabulary cap, keeps the artifact small.
    char_ngram_range : character n-gram sizes; None disables the block.
    char_max_features : vocabulary cap of the character block.
    phrase_weight : scale of the phrase block relative to the TF-IDF blocks.
    char_weight : scale of the character block.
    """

    def __init__(
        self,
        theme_phrases: Sequence[Sequence[str]] = (),
        word_max_n: int = 2,
        word_min_df: int = 2,
        word_max_features: int | None = 60000,
        char_ngram_range: tuple[int, int] | None = (3, 5),
        char_max_features: int | None = 60000,
        phrase_weight: float = 1.0,
        char_weight: float = 1.0,
    ):
        self.theme_phrases = theme_phrases
        self.word_max_n = word_max_n
        self.word_min_df = word_min_df
        self.word_max_features = word_max_features
        self.char_ngram_range = char_ngram_range
        self.char_max_features = char_max_features
        self.phrase_weight = phrase_weight
        self.char_weight = char_weight

    def fit(self, texts: Sequence[str], y=None) -> ThemeFeatures:
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
        self.char_vectorizer_ = None
        if self.char_ngram_range is not None:
            self.char_vectorizer_ = _drop_stop_words(
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=tuple(self.char_ngram_range),
                    lowercase=True,
                    min_df=self.word_min_df,
                    max_features=self.char_max_features,
                    sublinear_tf=True,
                    dtype=np.float32,
                ).fit(texts)
            )
        self.phrase_index_ = PhraseIndex(self.theme_phrases) if self.theme_phrases else None
        self.n_word_features_ = len(self.word_vectorizer_.vocabulary_)
        return self

    def _phrase_block(self, lemma_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        counts = np.array(
            [self.phrase_index_.counts(lemma_list) for lemma_list in lemma_lists],
            dtype=np.float32,
        ).reshape(len(lemma_lists), self.phrase_index_.n_themes)
        return sp.csr_matrix(np.log1p(counts) * self.phrase_weight)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        lemma_lists = [lemmas(text) for text in texts]
        blocks = [self.word_vectorizer_.transform(lemma_lists)]
        if self.phrase_index_ is not None:
            blocks.append(self._phrase_block(lemma_lists))
        if self.char_vectorizer_ is not None:
            blocks.append(self.char_vectorizer_.transform(texts) * self.char_weight)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def feature_names(self) -> list[str]:
        """Names of all columns, in order: word n-grams, ``phrase:THEME_INDEX``, ``char:..``."""
        names = list(self.word_vectorizer_.get_feature_names_out())
        if self.phrase_index_ is not None:
            names += [f"phrase:{i}" for i in range(self.phrase_index_.n_themes)]
        if self.char_vectorizer_ is not None:
            names += [f"char:{g}" for g in self.char_vectorizer_.get_feature_names_out()]
        return names
