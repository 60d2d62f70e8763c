"""A compiled scoring path for one paper at a time, for long-running servers.

Why: the API tags one abstract per request. On the string path (``ThemeFeatures.one_row``)
that costs ~0.18 ms of CPU warm and ~0.45 ms when the CPU caches are cold, as they are on a
busy server, almost all of it interpreter loops and probes of large dicts (issue 11,
``benchmarks/request_path.py``); rewriting it as NumPy array operations only moved the cost
into ~100 small NumPy calls. Here the paper's words become integer lemma codes (one dict
probe per word, see :class:`tagger.lemma_codes.LemmaCodes`) and ONE function compiled by
numba computes everything else (n-gram counting, the three vocabularies, the taxonomy
phrases, the LSA and feed-representation blocks and the linear classifier's logits) without
returning to Python.

Compiling costs seconds once per machine (the machine code is cached beside this file, or in
numba's user cache when that is read-only) and importing numba costs a few hundred
milliseconds per process, so only processes that tag many papers one at a time ask for it
(:meth:`tagger.estimator.ThemeClassifier.compile_one_paper`, called by the API when it loads
a model). Scores equal the string path's to float rounding (tested).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np

from tagger.lemma_codes import LemmaCodes

if TYPE_CHECKING:
    from tagger.classifier import CalibratedMultiLabelLogistic
    from tagger.features import ThemeFeatures

# representation modes
NO_REPRESENTATION, DIRECTION, PROBABILITY = 0, 1, 2


class CompiledScorer:
    """Calibrated scores of one paper from a fitted features + classifier pair, through the
    compiled kernel. Built once per loaded model; holds only arrays (no reference cycles)."""

    def __init__(self, features: ThemeFeatures, classifier: CalibratedMultiLabelLogistic,
                 codes: LemmaCodes):
        # imported here: numba costs a few hundred milliseconds to import (ImportError if
        # missing, which compile_one_paper reports)
        _paper_kernel = importlib.import_module("tagger._paper_kernel")
        self._kernel = _paper_kernel.paper_scores
        self._ascii_codes = _paper_kernel.ascii_codes
        self._ascii_kernel = _paper_kernel.ascii_paper_scores
        self.codes = codes
        self.ascii_table = _ascii_table(codes, _paper_kernel)
        coef = np.ascontiguousarray(classifier.coef_t_, dtype=np.float32)
        self.classifier = (coef, np.asarray(classifier.intercept_, dtype=np.float64))
        self.calibration = (np.asarray(classifier.threshold_logits_, dtype=np.float64),
                            np.asarray(classifier.slopes_, dtype=np.float64))
        self._raw = (np.zeros(0), np.zeros(0))  # no calibration: raw logits
        self._unknown = (codes.unknown_content, codes.unknown_other)
        self.words = (codes.info, *codes.word_pairs,
                      np.asarray(features.word_idf_, dtype=np.float64),
                      float(features.title_weight))
        n_themes = codes.phrase_index.n_themes if codes.phrase_index is not None else 0
        self.phrases = (*codes.phrases, n_themes, float(features.phrase_weight),
                        bool(features.title_phrases))
        self.lsa = _lsa_arrays(features)
        self.representation = _representation_arrays(codes, features)

    @classmethod
    def compile(cls, features: ThemeFeatures,
                classifier: CalibratedMultiLabelLogistic) -> CompiledScorer | None:
        """The compiled scorer, or None when the features have a block it cannot run."""
        codes = LemmaCodes.compile(features)
        return None if codes is None else cls(features, classifier, codes)

    def encode(self, text: str) -> np.ndarray:
        """The lemma codes of a text's words: ASCII text (most abstracts) in compiled code,
        other text through :meth:`LemmaCodes.encode` (same codes, tested)."""
        if text.isascii():
            keys, values = self.ascii_table
            return self._ascii_codes(np.frombuffer(text.encode("ascii"), dtype=np.uint8),
                                     keys, values, self.codes.unknown_content,
                                     self.codes.unknown_other)
        return self.codes.encode(text)

    def logits(self, title: str, abstract: str) -> np.ndarray:
        """Raw classifier logits ``(n_labels,)`` of one paper."""
        return self._run(title, abstract, self._raw)

    def scores(self, title: str, abstract: str) -> np.ndarray:
        """Calibrated scores ``(1, n_labels)``, as ``scores_from_row`` gives them."""
        return self._run(title, abstract, self.calibration)[None, :]

    def _run(self, title: str, abstract: str, calibration: tuple) -> np.ndarray:
        if title.isascii() and abstract.isascii():  # most papers: one compiled call
            return self._ascii_kernel(
                np.frombuffer(title.encode("ascii"), dtype=np.uint8),
                np.frombuffer(abstract.encode("ascii"), dtype=np.uint8), self.ascii_table,
                self._unknown, self.words, self.phrases, self.lsa, self.representation,
                self.classifier, calibration)
        return self._kernel(self.encode(title), self.encode(abstract), self.words,
                            self.phrases, self.lsa, self.representation, self.classifier,
                            calibration)


def _ascii_table(codes: LemmaCodes, kernel) -> tuple[np.ndarray, np.ndarray]:
    """The words whose code is not the default one (see ``_paper_kernel.ascii_codes``): every
    coded lemma, every word the lemma table maps, every stop word, as a hash table. ASCII
    words only (the table serves ASCII text); a word is one token, so letters and digits."""
    from tagger.text import STOPWORDS, _lemma_table

    candidates = set(_lemma_table()) | set(codes.lemmas) | STOPWORDS
    words, word_codes = [], []
    for word in sorted(candidates):
        if not (word.isascii() and word.isalnum() and word == word.lower()):
            continue
        code = codes.surface.code_of(word)
        default = (codes.unknown_other if len(word) == 1 or word.isdigit()
                   else codes.unknown_content)
        if code != default:
            words.append(word)
            word_codes.append(code)
    hashes, _kinds = kernel.word_hashes(
        np.frombuffer(" ".join(words).encode("ascii"), dtype=np.uint8))
    if len(hashes) != len(words) or len(np.unique(hashes)) != len(words):
        raise ValueError("two words of the lemma table share a hash")  # never seen; guarded
    capacity = 1 << (2 * len(words)).bit_length()
    return kernel.hash_table(hashes, np.array(word_codes, dtype=np.int64), capacity)


def _lsa_arrays(features: ThemeFeatures) -> tuple:
    if features.lsa_projection_ is None:
        return (np.zeros(0), np.zeros((0, 0), dtype=np.float32), 0.0)
    return (np.asarray(features.lsa_idf_, dtype=np.float64),
            np.ascontiguousarray(features.lsa_projection_, dtype=np.float32),
            float(features.lsa_weight))


def _representation_arrays(codes: LemmaCodes, features: ThemeFeatures) -> tuple:
    representation = features.representation
    if representation is None:
        return (NO_REPRESENTATION, *codes.term_pairs, np.zeros(0),
                np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32), 0.0)
    if representation.activation not in ("linear", "sigmoid"):
        raise ValueError(f"unknown activation {representation.activation!r}")
    if (representation.activation == "linear") != representation.normalise:
        raise ValueError("a linear representation is a direction, a sigmoid one a probability")
    return (DIRECTION if representation.normalise else PROBABILITY, *codes.term_pairs,
            np.asarray(representation.idf, dtype=np.float64),
            np.ascontiguousarray(representation.projection, dtype=np.float32),
            np.asarray(representation.intercept, dtype=np.float32),
            float(features.representation_weight))
