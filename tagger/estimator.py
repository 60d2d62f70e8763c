"""The theme model as one scikit-learn estimator: :class:`ThemeClassifier`.

Paper records in (a table with ``title`` and ``abstract`` columns, see :mod:`tagger.fields`),
calibrated theme scores out. It composes :class:`~tagger.features.ThemeFeatures` and
:class:`~tagger.classifier.CalibratedMultiLabelLogistic`, so ``predict`` gives exactly the
product's tags (score >= 0.5 for every theme), and it works with ``clone``,
``cross_val_score``, ``GridSearchCV`` (``features__title_weight``, ``classifier__C``) and
pickling like any scikit-learn classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from tagger.classifier import CalibratedMultiLabelLogistic
from tagger.features import Lemmatised, ThemeFeatures, is_content_word
from tagger.fields import Fields, as_fields
from tagger.text import Token, tokenize

# Words a reader learns nothing from as evidence, even when the weights like them: they occur
# in most abstracts of every theme. They still count as features; they are only never shown.
EVIDENCE_STOPLIST = frozenset("""
model models modeling modelling need needs achieve achieves achieved achieving task tasks
performance data dataset datasets learning learn learned framework frameworks training train
trained large novel existing problem problems study studies experiment experiments experimental
demonstrate demonstrates improve improves improved improvement significant significantly
efficient effective effectively outperform outperforms benchmark benchmarks analysis
application applications state art result results method methods technique techniques
approach approaches propose proposed introduce introduces present presents different various
high low good better best new recent recently lead leads provide provides allow allows
enable enables challenge challenging key important
""".split())
# An evidence item is shown only if it adds at least this much to the theme's logit, and at
# least this share of the strongest item: below that it is noise to a reader.
EVIDENCE_FLOOR = 0.05
EVIDENCE_RELATIVE_FLOOR = 0.1
# A single occurrence adding less than this is left out before phrases are assembled, so
# faint n-grams cannot glue unrelated words into one long "phrase".
EVIDENCE_PIECE_FLOOR = 0.01


@dataclass
class Evidence:
    """A word or phrase of the paper that pushed a theme's score up, with every place it
    occurs: ``spans`` are ``(field, start, end)`` character offsets into that field."""

    text: str
    weight: float
    spans: list[tuple[str, int, int]]


class ThemeClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label theme classifier over paper records.

    Parameters
    ----------
    themes : theme ids, one per column of ``Y`` (``classes_``); None: ``0..n_labels-1``.
    features : a :class:`ThemeFeatures` (unfitted; cloned by ``fit``); None: the default one
        without taxonomy phrases.
    classifier : a :class:`CalibratedMultiLabelLogistic` (cloned by ``fit``); None: default.

    ``fit(X, Y, sample_weight=None, unlabelled=None, tuning_weight=None)``: ``Y`` is a 0/1
    matrix (one column per theme) or a list of tag lists (needs ``themes``); ``unlabelled`` is
    a table of records without labels that only shapes the unsupervised features (the LSA
    block); ``tuning_weight`` is each row's weight when thresholds and calibration are tuned
    (0 for rows of a selected, non-random sample; default ``sample_weight``).
    """

    def __init__(self, themes: Sequence[str] | None = None,
                 features: ThemeFeatures | None = None,
                 classifier: CalibratedMultiLabelLogistic | None = None):
        self.themes = themes
        self.features = features
        self.classifier = classifier

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True  # rows of (title, abstract); no numeric input
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _indicator(self, Y: Any) -> np.ndarray:
        if len(Y) and not isinstance(Y, np.ndarray) and all(
                isinstance(row, (list, tuple, set, frozenset)) and
                all(isinstance(t, str) for t in row) for row in Y):
            if self.themes is None:
                raise ValueError("Y given as tag lists needs themes=[...]")
            index = {theme: k for k, theme in enumerate(self.themes)}
            matrix = np.zeros((len(Y), len(index)), dtype=np.int8)
            for i, tags in enumerate(Y):
                for tag in tags:
                    if tag not in index:
                        raise ValueError(f"Y row {i}: unknown theme {tag!r}")
                    matrix[i, index[tag]] = 1
            return matrix
        matrix = np.asarray(Y)
        if matrix.ndim != 2 or not np.isin(matrix, (0, 1)).all():
            raise ValueError("Y must be a 0/1 matrix with one column per theme")
        if self.themes is not None and matrix.shape[1] != len(self.themes):
            raise ValueError(f"Y has {matrix.shape[1]} columns for {len(self.themes)} themes")
        return matrix.astype(np.int8)

    def fit(self, X: Any, Y: Any, sample_weight: Any = None,
            unlabelled: Any = None, tuning_weight: Any = None) -> ThemeClassifier:
        fields = as_fields(X)
        if not len(fields):
            raise ValueError("X has no records to learn from")
        Y = self._indicator(Y)
        if len(fields) != len(Y):
            raise ValueError(f"X has {len(fields)} records but Y has {len(Y)} rows")
        weights = _check_sample_weight(sample_weight, np.empty((len(fields), 0)))
        tuning = (None if tuning_weight is None
                  else _check_sample_weight(tuning_weight, np.empty((len(fields), 0))))
        self.__dict__.pop("compiled_scorer_", None)  # compiled from the previous fit
        features = clone(self.features) if self.features is not None else ThemeFeatures()
        self.features_ = features.fit(fields, unlabelled=unlabelled)
        F = self.features_.transform(fields)
        classifier = (clone(self.classifier) if self.classifier is not None
                      else CalibratedMultiLabelLogistic())
        self.classifier_ = classifier.fit_indicator(F, Y, weights, tuning)
        self.classes_ = (np.asarray(self.themes, dtype=object) if self.themes is not None
                         else np.arange(Y.shape[1]))
        return self

    # -- scoring ----------------------------------------------------------------------------

    def score_fields(self, fields: Fields) -> np.ndarray:
        """Calibrated scores of normalised records, without input checks: the hot path the
        CLI, the API and the bulk engines share (one abstract costs well under a millisecond
        of feature work here)."""
        if not len(fields):
            return np.zeros((0, len(self.classes_)))
        scorer = self.__dict__.get("compiled_scorer_")
        if scorer is not None:  # see compile_scoring
            if len(fields) == 1:  # the API's request: no loop, no row copies
                return scorer.scores(fields.titles[0], fields.abstracts[0])
            return scorer.scores_many(fields.titles, fields.abstracts)
        if len(fields) == 1:
            # One paper (the CLI's case): multiply its non-zero entries by their weight rows
            # directly; building a sparse matrix costs more than the arithmetic here.
            return self.classifier_.scores_from_row(
                *self.features_.one_row(Lemmatised(fields)))
        return self.classifier_.scores(self.features_.transform_lemmatised(Lemmatised(fields)))

    def compile_scoring(self) -> str | None:
        """From now on score papers through the compiled kernel of :mod:`tagger.compiled`
        (same scores to ~1e-6; a sixth of the CPU time for one paper, about a quarter of the
        batch path's per paper): for processes that tag many papers, like the API and large
        bulk runs. The machine code is compiled (or read from numba's cache) here, not in
        the first request: ~0.6 s with the cache, ~10 s without. Returns None when it is in
        use, else why not (the string and batch paths then stay): numba missing, a block the
        kernel does not know, or the compiler failing on this platform. The scorer is
        derived from the fitted model, so it is never pickled."""
        if "compiled_scorer_" in self.__dict__:
            return None
        check_is_fitted(self, "classifier_")
        try:
            from tagger.compiled import CompiledScorer

            scorer = CompiledScorer.compile(self.features_, self.classifier_)
            if scorer is None:
                return "the model's representation has no compiled form"
            scorer.warm_up()  # compiles now, or loads the cached machine code
        except ImportError as error:
            return f"numba is not available ({error})"
        except Exception as error:  # noqa: BLE001 - e.g. no writable cache: the other paths score
            return f"the compiler failed ({type(error).__name__}: {error})"
        self.__dict__["compiled_scorer_"] = scorer
        return None

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("compiled_scorer_", None)
        return state

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated scores ``(n_records, n_themes)``: a theme applies when its score >= 0.5;
        scores are comparable across themes."""
        check_is_fitted(self, "classifier_")
        return self.score_fields(as_fields(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated logits: positive exactly where ``predict`` gives the theme."""
        scores = np.clip(self.predict_proba(X), 1e-12, 1 - 1e-12)
        return np.log(scores / (1 - scores))

    def predict(self, X: Any) -> np.ndarray:
        """The 0/1 tag matrix: every theme whose calibrated score is at least 0.5."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Feature names, with taxonomy-phrase columns named by theme id."""
        check_is_fitted(self, "features_")
        names = self.features_.get_feature_names_out()
        themes = [str(t) for t in self.classes_]

        def rename(name: str) -> str:
            kind, _, index = name.partition(":")
            if kind in ("phrase", "title-phrase") and index.isdigit() and int(index) < len(themes):
                return f"{kind}:{themes[int(index)]}"
            return name

        return np.asarray([rename(n) for n in names], dtype=object)

    @property
    def thresholds_(self) -> np.ndarray:
        """Each theme's cut-off on the raw (uncalibrated) probability, where its score is 0.5."""
        check_is_fitted(self, "classifier_")
        return self.classifier_.thresholds_

    # -- explanations -------------------------------------------------------------------------

    def explain(self, X: Any, themes: Sequence[Sequence[int]] | None = None,
                top: int = 5) -> list[dict[int, list[Evidence]]]:
        """Per record, per theme index (the record's predicted themes unless ``themes`` gives
        them), the words and phrases that raised that theme's score most.

        One feature transform per batch. Each word n-gram's contribution (TF-IDF value x
        weight) is shared among its occurrences, each taxonomy phrase block's among the phrases
        found; overlapping occurrences merge into one phrase (never shown as fragments); n-grams
        with a word of :data:`EVIDENCE_STOPLIST` or spanning a stop word are never shown, and
        items under :data:`EVIDENCE_FLOOR` (or under :data:`EVIDENCE_RELATIVE_FLOOR` of the
        strongest) are dropped.
        """
        check_is_fitted(self, "classifier_")
        fields = as_fields(X)
        F = self.features_.transform_lemmatised(Lemmatised(fields)).tocsr()
        if themes is None:
            scores = self.classifier_.scores(F)
            themes = [list(np.flatnonzero(row >= 0.5)) for row in scores]
        if len(themes) != len(fields):
            raise ValueError(f"themes has {len(themes)} rows for {len(fields)} records")
        n_themes = len(self.classes_)
        for row, chosen in enumerate(themes):
            bad = [k for k in chosen if not 0 <= int(k) < n_themes]
            if bad:
                raise ValueError(f"themes row {row}: no theme index {bad[0]} "
                                 f"(the model has {n_themes})")
        weights = self.classifier_.coef_
        out = []
        for i, (title, abstract) in enumerate(zip(fields.titles, fields.abstracts, strict=True)):
            row = F.getrow(i)
            values = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
            tokens = {"title": tokenize(title), "abstract": tokenize(abstract)}
            texts = {"title": title, "abstract": abstract}
            out.append({int(k): self._evidence(values, weights[k], int(k), tokens, texts, top)
                        for k in themes[i]})
        return out

    def _occurrences(self, tokens: dict[str, list[Token]]) -> list[tuple[int, str, int, int]]:
        """Every word n-gram occurrence in the vocabulary: (column, field, first, last token)."""
        lookup = self.features_.word_lookup_
        found = []
        for field, field_tokens in tokens.items():
            content = [p for p, token in enumerate(field_tokens) if is_content_word(token.lemma)]
            for n in range(1, self.features_.word_max_n + 1):
                for k in range(len(content) - n + 1):
                    positions = content[k : k + n]
                    if positions[-1] - positions[0] != n - 1:
                        continue  # n-grams across a stop word read as two things, not one
                    gram = [field_tokens[p].lemma for p in positions]
                    if any(word in EVIDENCE_STOPLIST for word in gram):
                        continue
                    column = lookup.column(gram)
                    if column is not None:
                        found.append((column, field, positions[0], positions[-1]))
        return found

    def _evidence(self, values: dict[int, float], weights: np.ndarray, theme: int,
                  tokens: dict[str, list[Token]], texts: dict[str, str],
                  top: int) -> list[Evidence]:
        # Contributions per occurrence (field, first token, last token).
        pieces: list[tuple[str, int, int, float]] = []
        occurrences = self._occurrences(tokens)
        per_column: dict[int, int] = {}
        for column, *_ in occurrences:
            per_column[column] = per_column.get(column, 0) + 1
        for column, field, first, last in occurrences:
            value = values.get(column, 0.0) * float(weights[column])
            if value > 0:
                pieces.append((field, first, last, value / per_column[column]))
        pieces += self._phrase_pieces(values, weights, theme, tokens)
        # Merge overlapping pieces of one field (a bigram and its words, a taxonomy phrase and
        # the n-grams inside it) into one phrase, so a reader never sees fragments.
        merged: list[list] = []
        for field, first, last, value in sorted(pieces):
            if value < EVIDENCE_PIECE_FLOOR:
                continue
            if merged and merged[-1][0] == field and first <= merged[-1][2]:
                merged[-1][2] = max(merged[-1][2], last)
                merged[-1][3] += value
            else:
                merged.append([field, first, last, value])
        by_text: dict[str, Evidence] = {}
        for field, first, last, value in merged:
            start, end = tokens[field][first].start, tokens[field][last].end
            key = " ".join(token.lemma for token in tokens[field][first : last + 1])
            item = by_text.setdefault(key, Evidence(texts[field][start:end], 0.0, []))
            item.weight += value
            item.spans.append((field, start, end))
        ranked = sorted(by_text.values(), key=lambda e: (-e.weight, e.spans[0]))
        if not ranked:
            return []
        floor = max(EVIDENCE_FLOOR, EVIDENCE_RELATIVE_FLOOR * ranked[0].weight)
        return [item for item in ranked if item.weight >= floor][:top]

    def _phrase_pieces(self, values: dict[int, float], weights: np.ndarray, theme: int,
                       tokens: dict[str, list[Token]]) -> list[tuple[str, int, int, float]]:
        """The taxonomy-phrase blocks' contribution, shared among the theme's matches."""
        features = self.features_
        index = features.phrase_index_
        if index is None:
            return []
        base = features.n_word_features_
        blocks = {"paper": base + theme}
        if features.title_phrases:
            blocks["title"] = base + index.n_themes + theme
        matches = {field: [(s, e) for s, e, themes in index.matches(
            [t.lemma for t in field_tokens]) if theme in themes]
            for field, field_tokens in tokens.items()}
        pieces = []
        for block, column in blocks.items():
            value = values.get(column, 0.0) * float(weights[column])
            fields = ["title"] if block == "title" else ["title", "abstract"]
            spans = [(field, s, e) for field in fields for s, e in matches[field]]
            if value > 0 and spans:
                pieces += [(field, s, e - 1, value / len(spans)) for field, s, e in spans]
        return pieces


def build_model(taxonomy: Any = None, **params: Any) -> ThemeClassifier:
    """The shipped design for ``taxonomy`` (default: the packaged one); ``params`` use nested names
    (``features__title_weight=0.5``, ``classifier__C=8``).

    Chosen in ``training/EXPERIMENTS.md``: lemma uni/bigram TF-IDF with the title counted again
    at half weight, taxonomy phrase counts for the paper and for the title, a 300-d LSA block,
    and per-theme logistic regressions with F0.8 thresholds (rare themes' shrunk towards the
    pooled threshold with the weight of 10 positives) turned into calibrated scores."""
    if taxonomy is None:
        from tagger.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
    model = ThemeClassifier(
        themes=list(taxonomy.ids),
        features=ThemeFeatures(theme_phrases=tuple(t.phrases for t in taxonomy.themes),
                               title_weight=0.5, title_phrases=True),
        classifier=CalibratedMultiLabelLogistic(C=8.0, beta=0.8, prior_strength=10.0),
    )
    return model.set_params(**params) if params else model
