"""A compiled scoring path, one paper per call, for servers and large bulk runs.

Why: the API tags one abstract per request. On the string path (``ThemeFeatures.one_row``)
that costs ~0.2 ms of CPU warm and ~0.6 ms when the CPU caches are cold, as they are on a
busy server, almost all of it interpreter loops and probes of large dicts (issue 11,
``benchmarks/request_path.py``); rewriting it as NumPy array operations only moved the cost
into ~100 small NumPy calls. Here ONE call into code compiled by numba
(``tagger._paper_kernel``) reads the words from the title's and abstract's UTF-8 bytes,
turns them into integer lemma codes through a hash table (:mod:`tagger.lemma_codes` holds
the integer form of the vocabularies), and computes everything else: n-gram counts, the word
TF-IDF rows, the taxonomy phrases, the LSA and feed-representation blocks, the classifier's
logits and the calibrated scores. ~0.03 ms per abstract; scores equal the batch path's to
~1e-6 (tested).

Compiling costs seconds once per machine (the machine code is cached beside the package, or
in numba's user cache when that is read-only); importing numba and loading the code costs
~0.3 s and ~130 MiB per process. So only processes that tag many papers ask for it
(:meth:`tagger.estimator.ThemeClassifier.compile_scoring`): the API for every model it
loads, in the gunicorn master before it forks, so the workers share the memory; and
``tagger tag`` on large inputs (``--compiled``), where one call per paper also beats the
sparse batch path (~0.03 against ~0.11 ms per paper).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from tagger.lemma_codes import LemmaCodes

if TYPE_CHECKING:
    from tagger.classifier import CalibratedMultiLabelLogistic
    from tagger.features import ThemeFeatures

class CompiledScorer:
    """Calibrated scores of one paper from a fitted features + classifier pair, through the
    compiled kernel. Built once per loaded model; holds only arrays (no reference cycles)."""

    def __init__(self, features: ThemeFeatures, classifier: CalibratedMultiLabelLogistic,
                 codes: LemmaCodes):
        # imported here: numba costs a few hundred milliseconds to import (ImportError if
        # missing, which compile_scoring reports)
        _paper_kernel = importlib.import_module("tagger._paper_kernel")
        self._kernel = _paper_kernel.paper_scores
        self._text_codes = _paper_kernel.text_codes
        self._text_kernel = _paper_kernel.text_paper_scores
        self.codes = codes
        self.reader = (_word_table(codes, _paper_kernel), *character_tables(),
                       codes.unknown_content, codes.unknown_other)
        coef = np.ascontiguousarray(classifier.coef_t_, dtype=np.float32)
        self.classifier = (coef, np.asarray(classifier.intercept_, dtype=np.float64))
        self.calibration = (np.asarray(classifier.threshold_logits_, dtype=np.float64),
                            np.asarray(classifier.slopes_, dtype=np.float64))
        self._raw = (np.zeros(0), np.zeros(0))  # no calibration: raw logits
        self.words = (codes.info, *codes.word_pairs,
                      np.asarray(features.word_idf_, dtype=np.float64),
                      float(features.title_weight))
        self.phrases = (*codes.phrases, codes.n_themes, float(features.phrase_weight),
                        bool(features.title_phrases))
        self.lsa = _lsa_arrays(features)
        self.representation = _representation_arrays(codes, features)

    @classmethod
    def compile(cls, features: ThemeFeatures,
                classifier: CalibratedMultiLabelLogistic) -> CompiledScorer | None:
        """The compiled scorer, or None when the features have a block it cannot run."""
        codes = LemmaCodes.compile(features)
        return None if codes is None else cls(features, classifier, codes)

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) the machine code of both readers now, not in
        a request: loading it costs ~30 MiB per process, and a server that does it before
        forking shares that memory between its workers."""
        self.scores("", "")
        self.scores("\u03a3", "")  # a capital sigma takes the Python reader

    def encode(self, text: str) -> np.ndarray:
        """The lemma codes of a text's words: read in compiled code, or (for the rare text
        that needs it, see ``_paper_kernel``) by :meth:`LemmaCodes.encode`; the same codes
        either way (tested)."""
        data = _utf8(text)
        if data is not None:
            codes, ok = self._text_codes(data, self.reader)
            if ok:
                return codes
        return self.codes.encode(text)

    def logits(self, title: str, abstract: str) -> np.ndarray:
        """Raw classifier logits ``(n_labels,)`` of one paper."""
        return self._run(title, abstract, self._raw)

    def scores(self, title: str, abstract: str) -> np.ndarray:
        """Calibrated scores ``(1, n_labels)``, as ``scores_from_row`` gives them."""
        return self._run(title, abstract, self.calibration)[None, :]

    def scores_many(self, titles: Sequence[str], abstracts: Sequence[str]) -> np.ndarray:
        """Calibrated scores ``(n_papers, n_labels)``: one compiled call per paper (~0.03 ms,
        against ~0.11 ms per paper on the sparse batch path)."""
        scores = np.empty((len(titles), len(self.calibration[0])))
        for row, (title, abstract) in enumerate(zip(titles, abstracts, strict=True)):
            scores[row] = self._run(title, abstract, self.calibration)
        return scores

    def _run(self, title: str, abstract: str, calibration: tuple) -> np.ndarray:
        title_data, abstract_data = _utf8(title), _utf8(abstract)
        if title_data is not None and abstract_data is not None:  # one compiled call
            scores, ok = self._text_kernel(title_data, abstract_data, self.reader, self.words,
                                           self.phrases, self.lsa, self.representation,
                                           self.classifier, calibration)
            if ok:
                return scores
        return self._kernel(self.encode(title), self.encode(abstract), self.words,
                            self.phrases, self.lsa, self.representation, self.classifier,
                            calibration)


def _utf8(text: str) -> np.ndarray | None:
    """The text's UTF-8 bytes as an array, or None for text UTF-8 cannot hold (a lone
    surrogate: the API refuses those, a file reader may not)."""
    try:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None


@functools.cache
def character_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per character of the Basic Multilingual Plane: its lowercase (-1 where lowercasing
    needs context, as a capital sigma does, or gives more than one character) and the kind
    of that lowercase character (``WORD_CHARACTER``: letter or digit, as ``str.isalnum``
    and so ``tagger.text``'s token pattern see it; ``DIGIT``: ``str.isdigit``). Built once
    per process (~0.05 s)."""
    from tagger._paper_kernel import DIGIT, WORD_CHARACTER

    lower = np.full(0x10000, -1, dtype=np.int32)
    kind = np.zeros(0x10000, dtype=np.uint8)
    for code_point in range(0x10000):
        if 0xD800 <= code_point <= 0xDFFF or code_point == 0x3A3:  # surrogates, capital sigma
            continue
        lowered = chr(code_point).lower()
        if len(lowered) != 1 or ord(lowered) >= 0x10000:
            continue
        lower[code_point] = ord(lowered)
        kind[code_point] = (WORD_CHARACTER * lowered.isalnum()) | (DIGIT * lowered.isdigit())
    return lower, kind


def _word_table(codes: LemmaCodes, kernel) -> np.ndarray:
    """The words whose code is not the default one (see ``_paper_kernel.text_codes``): every
    coded lemma, every word the lemma table maps, every stop word, as a hash table. Only
    words the compiled reader reads as one word are needed (the others never occur)."""
    from tagger.text import STOPWORDS, _lemma_table

    lower, _kind = character_tables()
    candidates = set(_lemma_table()) | set(codes.lemmas) | STOPWORDS
    words, word_codes = [], []
    for word in sorted(candidates):
        if not (word.isalnum() and all(lower[min(ord(c), 0xFFFF)] == ord(c) for c in word)):
            continue  # not one lowercase word of characters the compiled reader knows
        code = codes.surface.code_of(word)
        default = (codes.unknown_other if len(word) == 1 or word.isdigit()
                   else codes.unknown_content)
        if code != default:
            words.append(word)
            word_codes.append(code)
    hashes, _dropped, ok = kernel.word_hashes(
        np.frombuffer(" ".join(words).encode("utf-8"), dtype=np.uint8), *character_tables())
    if not ok or len(hashes) != len(words) or len(np.unique(hashes)) != len(words):
        raise ValueError("the word table cannot be hashed")  # never seen; guarded
    capacity = 1 << (2 * len(words)).bit_length()
    return kernel.hash_table(hashes, np.array(word_codes, dtype=np.int64), capacity)


def _lsa_arrays(features: ThemeFeatures) -> tuple:
    if features.lsa_projection_ is None:
        return (np.zeros(0), np.zeros((0, 0), dtype=np.float32), 0.0)
    return (np.asarray(features.lsa_idf_, dtype=np.float64),
            np.ascontiguousarray(features.lsa_projection_, dtype=np.float32),
            float(features.lsa_weight))


def _representation_arrays(codes: LemmaCodes, features: ThemeFeatures) -> tuple:
    from tagger._paper_kernel import DIRECTION, NO_REPRESENTATION, PROBABILITY

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
