"""Learning from the unlabelled feed with labels the model or arXiv gives it: self-training and
distant supervision from arXiv categories, as one scikit-learn meta-estimator.

:class:`FeedAugmented` wraps a theme classifier. Its ``fit`` (1) optionally trains the wrapped
model (the *teacher*) on the labelled rows and scores a pool of feed papers, (2) gives pool
papers labels: the teacher's confident tags and/or the themes their arXiv categories name,
(3) trains a fresh copy (the *student*) on the labelled rows plus the pseudo-labelled ones at a
low sample weight. Because all of this happens inside ``fit``, cross-validation stays honest:
the teacher of each fold never saw that fold's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from tagger.fields import as_fields


class FeedAugmented(ClassifierMixin, BaseEstimator):
    """Train ``base`` on labelled rows plus pseudo-labelled ``pool`` rows.

    Parameters
    ----------
    base : the theme classifier (a ``ThemeClassifier``), cloned for teacher and student.
    pool : ``(n, 2)`` object array of feed ``(title, abstract)`` rows.
    pool_themes : per pool row, the theme indices its arXiv categories imply (or None).
    teacher : use the teacher's tags (score >= 0.5) as pseudo-labels.
    categories : add the category themes to each pool row's labels.
    confidence : a pool row joins when the teacher scores some theme at least this high
        (its other labels are the teacher's tags), or when it has a category theme.
    negatives : also add this many pool rows that the teacher scores below ``1 - confidence``
        for every theme, as no-theme rows (the real stream is mostly off-topic; positives alone
        would teach the student that every feed paper has a theme).
    max_per_theme : at most this many pool rows join per theme (None: all candidates).
    weight : sample weight of every pool row (labelled rows keep theirs).
    seed : which negatives are drawn.
    """

    def __init__(self, base: Any = None, pool: Any = None,
                 pool_themes: Sequence[Sequence[int]] | None = None, teacher: bool = True,
                 categories: bool = False, confidence: float = 0.9, negatives: int = 0,
                 max_per_theme: int | None = 300, weight: float = 0.3, seed: int = 0):
        self.base = base
        self.pool = pool
        self.pool_themes = pool_themes
        self.teacher = teacher
        self.categories = categories
        self.confidence = confidence
        self.negatives = negatives
        self.max_per_theme = max_per_theme
        self.weight = weight
        self.seed = seed

    def __sklearn_tags__(self):
        return self.base.__sklearn_tags__()

    def pseudo_labels(self, X: Any, Y: np.ndarray, sample_weight: Any,
                      unlabelled: Any) -> tuple[np.ndarray, np.ndarray]:
        """The pool rows chosen and their 0/1 labels.

        A theme's candidates are the pool rows the teacher scores at least ``confidence`` for
        it, or (with ``categories``) whose categories name it; at most ``max_per_theme`` of
        them join (the most confident; in pool order without a teacher), so frequent themes
        cannot swamp the labelled data and rare ones get as many rows as the pool holds."""
        pool = np.asarray(self.pool, dtype=object)
        n_themes = Y.shape[1]
        labels = np.zeros((len(pool), n_themes), dtype=np.int8)
        candidate = np.zeros((len(pool), n_themes), dtype=bool)
        rank = np.zeros((len(pool), n_themes))
        chosen = np.zeros(len(pool), dtype=bool)
        if self.teacher:
            teacher = clone(self.base).fit(X, Y, sample_weight=sample_weight,
                                           unlabelled=unlabelled)
            scores = teacher.predict_proba(pool)
            labels |= (scores >= 0.5).astype(np.int8)
            candidate |= scores >= self.confidence
            rank = scores
        if self.categories and self.pool_themes is not None:
            for row, themes in enumerate(self.pool_themes):
                if themes:
                    labels[row, list(themes)] = 1
                    candidate[row, list(themes)] = True
        for k in range(n_themes):
            rows = np.flatnonzero(candidate[:, k])
            if self.max_per_theme is not None and len(rows) > self.max_per_theme:
                rows = rows[np.argsort(-rank[rows, k], kind="stable")[: self.max_per_theme]]
            chosen[rows] = True
        if self.teacher and self.negatives:
            quiet = np.flatnonzero(scores.max(axis=1) < 1 - self.confidence)
            rng = np.random.default_rng(self.seed)
            picked = rng.choice(quiet, size=min(self.negatives, len(quiet)), replace=False)
            labels[picked] = 0
            chosen[picked] = True
        rows = np.flatnonzero(chosen)
        return rows, labels[rows]

    def fit(self, X: Any, Y: Any, sample_weight: Any = None,
            unlabelled: Any = None) -> FeedAugmented:
        fields = as_fields(X)
        table = np.empty((len(fields), 2), dtype=object)
        table[:, 0], table[:, 1] = fields.titles, fields.abstracts
        Y = clone(self.base)._indicator(Y)
        weights = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, float)
        rows, labels = self.pseudo_labels(table, Y, weights, unlabelled)
        pool = np.asarray(self.pool, dtype=object)
        self.n_pseudo_ = len(rows)
        self.pseudo_positives_ = labels.sum(axis=0)
        self.student_ = clone(self.base).fit(
            np.vstack([table, pool[rows].reshape(-1, 2)]), np.vstack([Y, labels]),
            sample_weight=np.concatenate([weights, np.full(len(rows), self.weight)]),
            unlabelled=unlabelled)
        self.classes_ = self.student_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "student_")
        return self.student_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X) >= 0.5).astype(np.int64)
