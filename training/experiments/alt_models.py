"""Learners the shipped design does not use, measured on the feed labels (issue 22): a linear
SVM, a small MLP, a character n-gram block beside the word features, and a second stage over
the 19 themes' out-of-fold scores (label dependencies).

Each is a scikit-learn estimator with the shipped estimator's fit signature
(``fit(X, Y, sample_weight, unlabelled, tuning_weight)``) and the same threshold rule: per theme
an F0.8 threshold shrunk towards the pooled one and a calibration slope, both tuned on
cross-fitted scores of the training rows, so ``predict_proba >= 0.5`` means "tagged" exactly as
for :class:`tagger.estimator.ThemeClassifier`. They live outside the package: no user command
needs them, and none of them has a compiled scoring path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold

from tagger.calibration import calibrated, fit_slopes, logit, sigmoid, tune_thresholds
from tagger.fields import as_fields


def _papers_text(X: Any) -> list[str]:
    fields = as_fields(X)
    return [f"{title}. {abstract}" for title, abstract in zip(fields.titles, fields.abstracts,
                                                              strict=True)]


class AltThemeModel(BaseEstimator):
    """``features`` (a fitted-per-fit :class:`~tagger.features.ThemeFeatures` prototype), an
    optional character n-gram block, and ``learner`` in ``logistic`` | ``svm`` | ``mlp``, with
    an optional ``stack`` second stage (per theme a logistic regression over all themes'
    first-stage logits)."""

    def __init__(self, features: Any = None, learner: str = "svm", C: float = 8.0,
                 char_weight: float = 0.0, hidden: int = 128, stack: bool = False,
                 beta: float = 0.8, prior_strength: float = 10.0, cv: int = 5,
                 random_state: int = 0):
        self.features = features
        self.learner = learner
        self.C = C
        self.char_weight = char_weight
        self.hidden = hidden
        self.stack = stack
        self.beta = beta
        self.prior_strength = prior_strength
        self.cv = cv
        self.random_state = random_state

    # -- features ---------------------------------------------------------------------------

    def _fit_features(self, X: Any, unlabelled: Any) -> None:
        self.features_ = clone(self.features).fit(as_fields(X), unlabelled=unlabelled)
        if self.char_weight > 0:
            self.chars_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3,
                                          max_features=300_000, sublinear_tf=True,
                                          dtype=np.float32).fit(_papers_text(X))

    def _transform(self, X: Any) -> sp.csr_matrix:
        F = self.features_.transform(as_fields(X))
        if self.char_weight > 0:
            F = sp.hstack([F, self.char_weight * self.chars_.transform(_papers_text(X))],
                          format="csr")
        return F

    # -- learners ---------------------------------------------------------------------------

    def _fit_learner(self, F, Y: np.ndarray, w: np.ndarray) -> list:
        models = []
        if self.learner == "mlp":
            from sklearn.neural_network import MLPClassifier

            keep = w > 0
            return [MLPClassifier((self.hidden,), alpha=1e-3, max_iter=60, early_stopping=False,
                                  random_state=self.random_state).fit(F[keep], Y[keep])]
        for k in range(Y.shape[1]):
            column = Y[:, k]
            if column.sum() in (0, len(column)):
                models.append(float(logit(np.clip(column.mean(), 1e-4, 1 - 1e-4))))
                continue
            if self.learner == "svm":
                from sklearn.svm import LinearSVC

                model = LinearSVC(C=self.C / 100.0, class_weight="balanced", tol=1e-3,
                                  max_iter=5000)
            else:
                from sklearn.linear_model import LogisticRegression

                model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000,
                                           tol=1e-3)
            models.append(model.fit(F, column, sample_weight=w))
        return models

    @staticmethod
    def _logits(models: list, F, n_labels: int) -> np.ndarray:
        if len(models) == 1 and hasattr(models[0], "predict_proba") and n_labels > 1:
            return np.asarray(logit(np.clip(models[0].predict_proba(F), 1e-6, 1 - 1e-6)))
        out = np.zeros((F.shape[0], n_labels))
        for k, model in enumerate(models):
            out[:, k] = model if isinstance(model, float) else model.decision_function(F)
        return out

    def _stage_two(self, Z: np.ndarray, Y: np.ndarray, w: np.ndarray) -> list:
        from sklearn.linear_model import LogisticRegression

        models = []
        for k in range(Y.shape[1]):
            column = Y[:, k]
            if column.sum() in (0, len(column)):
                models.append(float(logit(np.clip(column.mean(), 1e-4, 1 - 1e-4))))
                continue
            models.append(LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
                          .fit(Z, column, sample_weight=w))
        return models

    def _cross_fitted(self, F, Y: np.ndarray, w: np.ndarray) -> np.ndarray:
        oof = np.zeros(Y.shape)
        for train, test in KFold(self.cv, shuffle=True,
                                 random_state=self.random_state).split(Y):
            oof[test] = self._logits(self._fit_learner(F[train], Y[train], w[train]), F[test],
                                     Y.shape[1])
        return oof

    # -- estimator --------------------------------------------------------------------------

    def fit(self, X: Any, Y: Any, sample_weight: Any = None, unlabelled: Any = None,
            tuning_weight: Any = None) -> AltThemeModel:
        Y = np.asarray(Y, dtype=np.int8)
        w = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, float)
        tuning = w if tuning_weight is None else np.asarray(tuning_weight, float)
        self._fit_features(X, unlabelled)
        F = self._transform(X)
        oof = self._cross_fitted(F, Y, w)
        self.models_ = self._fit_learner(F, Y, w)
        if self.stack:
            # the second stage learns on cross-fitted first-stage logits; its own thresholds
            # are tuned on a second cross-fitting of that stage
            Z = np.clip(oof, -12, 12)
            stacked = np.zeros(Y.shape)
            for train, test in KFold(self.cv, shuffle=True,
                                     random_state=self.random_state + 1).split(Y):
                stacked[test] = self._logits(self._stage_two(Z[train], Y[train], w[train]),
                                             Z[test], Y.shape[1])
            self.stage_two_ = self._stage_two(Z, Y, w)
            oof = stacked
        P = sigmoid(oof)
        self.thresholds_ = tune_thresholds(Y, P, beta=self.beta, min_positives=3,
                                           prior_strength=self.prior_strength,
                                           sample_weight=tuning)
        self.slopes_ = fit_slopes(Y, P, self.thresholds_, min_positives=3,
                                  sample_weight=tuning)
        self.n_labels_ = Y.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        Z = self._logits(self.models_, self._transform(X), self.n_labels_)
        if self.stack:
            Z = self._logits(self.stage_two_, np.clip(Z, -12, 12), self.n_labels_)
        return Z

    def predict_proba(self, X: Any) -> np.ndarray:
        return calibrated(self.decision_function(X), logit(self.thresholds_), self.slopes_)
