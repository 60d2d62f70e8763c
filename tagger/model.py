"""The multi-label theme model: :class:`ThemeFeatures` followed by one linear classifier per
theme, composed as a scikit-learn ``Pipeline`` so one object is fitted, saved and loaded.

Why linear: a few hundred labelled abstracts per theme at most, a 2-core machine that must tag
thousands of abstracts a second, and explanations that fall out of the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tagger.features import ThemeFeatures, is_content_word
from tagger.taxonomy import Taxonomy
from tagger.text import tokenize


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class MultiLabelLogistic(ClassifierMixin, BaseEstimator):
    """One L2 logistic regression per label, stored as one weight matrix so scoring a batch
    is a single sparse matrix product.

    Parameters
    ----------
    C : inverse regularisation strength; small data wants strong regularisation.
    class_weight : ``"balanced"`` up-weights the rare positives of each theme, which matters
        when a theme has 10 positives among 1,300 abstracts; thresholds are tuned afterwards.
    max_iter : solver iteration cap.
    tol : solver tolerance; 1e-3 halves training time against scikit-learn's 1e-4 with no
        measurable change in cross-validated F1 (thresholds are coarser than that).
    """

    def __init__(self, C: float = 4.0, class_weight: str | None = "balanced",
                 max_iter: int = 2000, tol: float = 1e-3):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, Y, sample_weight=None) -> MultiLabelLogistic:
        """Fit one logistic regression per column of ``Y``; ``sample_weight`` (one weight per
        row) lets silver or skewed training data count less than the gold stream."""
        Y = np.asarray(Y)
        n_labels = Y.shape[1]
        self.coef_ = np.zeros((n_labels, X.shape[1]), dtype=np.float32)
        self.intercept_ = np.zeros(n_labels, dtype=np.float32)
        for label in range(n_labels):
            column = Y[:, label]
            positives = int(column.sum())
            if positives == 0 or positives == len(column):
                # Nothing to learn: a constant, confidently at the observed rate.
                rate = np.clip(positives / max(len(column), 1), 1e-4, 1 - 1e-4)
                self.intercept_[label] = np.log(rate / (1 - rate))
                continue
            classifier = LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                solver="lbfgs",
                max_iter=self.max_iter,
                tol=self.tol,
            ).fit(X, column, sample_weight=sample_weight)
            self.coef_[label] = classifier.coef_[0]
            self.intercept_[label] = classifier.intercept_[0]
        self.n_labels_ = n_labels
        # (n_features, n_labels), C-contiguous: scoring multiplies by it directly instead of
        # copying a transposed view on every call (a large share of one-document latency).
        self.coef_t_ = np.ascontiguousarray(self.coef_.T)
        return self

    def decision_function(self, X) -> np.ndarray:
        coef_t = getattr(self, "coef_t_", None)
        if coef_t is None:
            coef_t = self.coef_.T
        return np.asarray(X @ coef_t) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Per-label probability that the label applies, shape ``(n_samples, n_labels)``."""
        return _sigmoid(self.decision_function(X))

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(int)


def build_model(taxonomy: Taxonomy, **params) -> Pipeline:
    """The default model design for ``taxonomy``; ``params`` use Pipeline names
    (``features__char_mode="words"``, ``classifier__C=2``).

    The default was chosen in ``training/EXPERIMENTS.md``: lemma uni/bigram TF-IDF with the
    title counted again at half weight, taxonomy phrase counts for the whole text and for the
    title, no character n-grams (within CV noise of the best, 4x cheaper to extract), and a
    class-weighted logistic regression per theme with C=8."""
    model = Pipeline(
        [
            ("features", ThemeFeatures(
                theme_phrases=tuple(t.phrases for t in taxonomy.themes),
                title_weight=0.5,
                title_phrases=True,
            )),
            ("classifier", MultiLabelLogistic(C=8.0)),
        ]
    )
    return model.set_params(**params) if params else model


@dataclass
class Evidence:
    """A word or phrase of the input that pushed a theme's score up, with every place it
    occurs (``spans`` are ``(start, end)`` character offsets into the scored text)."""

    text: str
    weight: float
    spans: list[tuple[int, int]]


def explain(model: Pipeline, text: str, theme_index: int, top: int = 5) -> list[Evidence]:
    """The words and phrases of ``text`` that contributed most to one theme's score.

    Contribution of a word n-gram = its TF-IDF value times its weight for the theme; the
    taxonomy-phrase block's contribution is shared among the theme's distinct phrases found.
    Character n-grams are left out: they do not map to readable spans. Strongest first,
    positive contributions only, at most ``top`` distinct words or phrases.
    """
    features: ThemeFeatures = model.named_steps["features"]
    weights = model.named_steps["classifier"].coef_[theme_index]
    row = features.transform([text]).tocsr()
    contribution = {
        int(j): float(v) * float(weights[j]) for j, v in zip(row.indices, row.data, strict=True)
    }
    tokens = tokenize(text)
    found: dict[str, Evidence] = {}

    def add(key: str, value: float, start: int, end: int) -> None:
        evidence = found.setdefault(key, Evidence(text[start:end], value, []))
        evidence.weight = max(evidence.weight, value)
        if (start, end) not in evidence.spans:
            evidence.spans.append((start, end))

    # Word n-grams, located among the content tokens the vectorizer saw.
    content = [i for i, token in enumerate(tokens) if is_content_word(token.lemma)]
    vocabulary = features.word_vectorizer_.vocabulary_
    for n in range(1, features.word_max_n + 1):
        for k in range(len(content) - n + 1):
            positions = content[k : k + n]
            gram = " ".join(tokens[p].lemma for p in positions)
            value = contribution.get(vocabulary.get(gram, -1), 0.0)
            if value > 0:
                add(gram, value, tokens[positions[0]].start, tokens[positions[-1]].end)

    # Taxonomy phrases of this theme.
    if features.phrase_index_ is not None:
        n_themes = features.phrase_index_.n_themes
        value = contribution.get(features.n_word_features_ + theme_index, 0.0)
        if features.title_phrases:
            value += contribution.get(features.n_word_features_ + n_themes + theme_index, 0.0)
        if value > 0:
            lemma_list = [token.lemma for token in tokens]
            own = [m for m in features.phrase_index_.matches(lemma_list) if theme_index in m[2]]
            distinct = {" ".join(lemma_list[start:end]) for start, end, _ in own}
            for start, end, _themes in own:
                key = "phrase:" + " ".join(lemma_list[start:end])
                add(key, value / len(distinct), tokens[start].start, tokens[end - 1].end)

    ranked = sorted(found.values(), key=lambda e: (-e.weight, e.spans[0]))
    chosen: list[Evidence] = []
    for evidence in ranked:
        # A unigram inside an already chosen phrase adds nothing for a reader.
        if any(
            all(any(cs <= s and e <= ce for cs, ce in c.spans) for s, e in evidence.spans)
            for c in chosen
        ):
            continue
        chosen.append(evidence)
        if len(chosen) == top:
            break
    return chosen


def score_texts(model: Pipeline, texts: Sequence[str]) -> np.ndarray:
    """Theme probabilities for a batch of texts, shape ``(len(texts), n_themes)``.

    Runs the steps directly rather than through ``Pipeline.predict_proba``, whose parameter
    routing and checks cost about as much as the features of one abstract (the API's case).
    """
    if not texts:
        n_labels = model.named_steps["classifier"].n_labels_
        return np.zeros((0, n_labels), dtype=np.float32)
    X = list(texts)
    for _name, step in model.steps[:-1]:
        X = step.transform(X)
    return model.steps[-1][1].predict_proba(X)
