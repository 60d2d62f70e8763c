"""Dense paper representations learnt from a large unlabelled stream (the arXiv feed).

Why: a theme with 12 labelled positives cannot teach the classifier every word its papers use.
176,000 feed abstracts can: words and phrases that occur in the same abstracts (or next to
each other) land close together in a low-dimensional space, so a paper about "Mamba" or
"selective scan" sits near the labelled state-space papers even if no labelled paper used those
words.

:class:`FeedRepresentation` is one frozen linear map: a paper's bag of terms (content-word
lemmas plus collocations mined from the feed, such as ``state space`` or ``neural
architecture``) weighted by sublinear TF-IDF with the feed's IDF and L2-normalised, times a
``(n_terms, dim)`` projection. Two ways to learn the projection:

* ``"lsa"``: truncated SVD of the feed's TF-IDF matrix (latent semantic analysis);
* ``"ppmi"``: word vectors from a factorised positive-PMI co-occurrence matrix (GloVe-style,
  window of neighbouring content words), so a paper is the TF-IDF-weighted sum of its word
  vectors;
* ``"categories"`` (distant supervision as a pre-training task): one logistic regression per
  frequent arXiv category, trained on the feed to tell from the text whether a paper was
  filed there; a paper's representation is its log-odds for each category (or, with the
  ``"sigmoid"`` activation, the probabilities). Categories only correlate with the themes
  (``cond-mat.*`` with scientific ML, ``eess.SY`` with state-space models, ``cs.CV`` with
  vision but also with diffusion or distillation), which makes them poor labels but useful
  evidence: the theme classifier learns from the labelled papers how much each one counts.
  Log-odds, like the first two, are directions the estimator scales to unit length;
  probabilities keep their scale (``normalise`` is False).

It is a plain class, not a scikit-learn estimator, on purpose: ``sklearn.base.clone`` then
deep-copies the fitted state instead of refitting it in every cross-validation fold. It is
saved as ONE ``.npz`` of plain arrays (no pickle), so loading a model never runs code from the
file. Scoring cost is that of the LSA block: dict look-ups per word and one small sparse-dense
product per batch.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial
from itertools import chain
from operator import is_not
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp

from tagger.text import STOPWORDS

FORMAT = "tagger-feed-representation/1"
_IS_NOT_NONE = partial(is_not, None)
ACTIVATIONS = ("linear", "sigmoid")


def _content(lemma_list: Iterable[str]) -> list[str]:
    """Lemmas that can carry meaning (the same rule as the word features: no stop words,
    numbers or single letters)."""
    return [w for w in lemma_list if len(w) > 1 and w not in STOPWORDS and not w.isdigit()]


class _TermLookup:
    """Unigram and phrase (two-word collocation) -> term id, by nested dicts: no strings are
    built per bigram when a paper is looked up."""

    def __init__(self, vocabulary: Sequence[str]):
        self.unigrams: dict[str, int] = {}
        self.phrases: dict[str, dict[str, int]] = {}
        for index, term in enumerate(vocabulary):
            first, _, second = term.partition(" ")
            if second:
                self.phrases.setdefault(first, {})[second] = index
            else:
                self.unigrams[term] = index

    def terms(self, words: Sequence[str]) -> list[int]:
        """Ids of the unigrams and of the collocations (adjacent content words) of ``words``,
        a list of content words."""
        get = self.unigrams.get
        found = [j for j in map(get, words) if j is not None]
        phrases = self.phrases
        if phrases:
            for first, second in zip(words, words[1:], strict=False):
                following = phrases.get(first)
                if following is not None:
                    j = following.get(second)
                    if j is not None:
                        found.append(j)
        return found

    def lemma_terms(self, lemma_list: Sequence[str]) -> list[int]:
        """``terms(content words of lemma_list)`` in one pass, the scoring hot path: every
        vocabulary term is a content word, so only out-of-vocabulary lemmas need the
        stop-word test (a stop word between two words does not break a collocation)."""
        get = self.unigrams.get
        phrases = self.phrases
        if not phrases:  # unigrams only: one C-level pass (map, filter), no Python loop
            return list(filter(_IS_NOT_NONE, map(get, lemma_list)))
        found: list[int] = []
        grams: list[int] = []
        following = None
        for word in lemma_list:
            j = get(word)
            if j is None:
                if len(word) > 1 and word not in STOPWORDS and not word.isdigit():
                    following = None  # a content word outside the vocabulary
                continue
            found.append(j)
            if following is not None:
                k = following.get(word)
                if k is not None:
                    grams.append(k)
            following = phrases.get(word)
        return found + grams


def _tfidf(term_lists: Sequence[Sequence[int]], idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF-IDF rows (1 + log tf) x idf, L2-normalised: what TfidfVectorizer would
    give for these term ids."""
    indptr = np.zeros(len(term_lists) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in term_lists], out=indptr[1:])
    flat = np.fromiter(chain.from_iterable(term_lists), dtype=np.int64, count=int(indptr[-1]))
    rows = np.repeat(np.arange(len(term_lists), dtype=np.int64), np.diff(indptr))
    n_terms = len(idf)
    keys, counts = np.unique(rows * n_terms + flat, return_counts=True)
    key_rows, key_columns = np.divmod(keys, n_terms)
    values = (1.0 + np.log(counts)) * idf[key_columns]
    norms = np.sqrt(np.bincount(key_rows, weights=values ** 2, minlength=len(term_lists)))
    norms[norms == 0] = 1.0
    values = values / norms[key_rows]
    row_ptr = np.searchsorted(key_rows, np.arange(len(term_lists) + 1))
    return sp.csr_matrix((values.astype(np.float32), key_columns.astype(np.int32), row_ptr),
                         shape=(len(term_lists), n_terms))


class FeedRepresentation:
    """A frozen linear paper representation: TF-IDF bag of terms x ``projection``.

    ``vocabulary``: the terms (unigram lemmas, or two lemmas joined by a space for a mined
    collocation); ``idf``: their inverse document frequencies on the fitting corpus;
    ``projection``: ``(len(vocabulary), dim)``; ``info``: how it was fitted (for the manifest);
    ``intercept``: added to each projected row (``(dim,)``, optional); ``activation``:
    ``"linear"`` or ``"sigmoid"`` (probabilities, for the ``"categories"`` method).
    """

    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray, projection: np.ndarray,
                 info: dict[str, Any] | None = None, intercept: np.ndarray | None = None,
                 activation: str = "linear"):
        self.vocabulary = [str(t) for t in vocabulary]
        self.idf = np.asarray(idf, dtype=np.float32)
        self.projection = np.ascontiguousarray(projection, dtype=np.float32)
        if self.projection.ndim != 2 or self.projection.shape[0] != len(self.vocabulary):
            raise ValueError(f"projection has shape {self.projection.shape} for "
                             f"{len(self.vocabulary)} terms")
        if self.idf.shape != (len(self.vocabulary),):
            raise ValueError(f"idf has shape {self.idf.shape} for {len(self.vocabulary)} terms")
        self.info = dict(info or {})
        self.dim = int(self.projection.shape[1])
        self.intercept = (np.zeros(self.dim, dtype=np.float32) if intercept is None
                          else np.asarray(intercept, dtype=np.float32))
        if self.intercept.shape != (self.dim,):
            raise ValueError(f"intercept has shape {self.intercept.shape} for dim {self.dim}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
        self.activation = activation
        self._lookup = _TermLookup(self.vocabulary)

    def __repr__(self) -> str:
        return (f"FeedRepresentation({self.info.get('method', '?')}, {len(self.vocabulary)} "
                f"terms, dim={self.dim})")

    @property
    def normalise(self) -> bool:
        """Whether the estimator should scale each paper's vector to unit length: yes for a
        direction in a learnt space, no for probabilities."""
        return self.activation == "linear"

    def term_ids(self, lemma_list: Sequence[str]) -> list[int]:
        """Term ids of one paper's lemmas (unigrams first, then collocations)."""
        return self._lookup.lemma_terms(lemma_list)

    def transform(self, lemma_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """``(n, dim)`` float32: each paper's (title and abstract lemmas) representation."""
        terms = [self.term_ids(x) for x in lemma_lists]
        if not terms:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._activate(np.asarray(_tfidf(terms, self.idf) @ self.projection,
                                         dtype=np.float32))

    def transform_one(self, lemma_list: Sequence[str]) -> np.ndarray:
        """``(dim,)`` float32: one paper's representation, equal to ``transform([x])[0]``
        (tested) without the batch path's sparse-matrix bookkeeping, which costs more than
        the arithmetic for one abstract (the API's case)."""
        counts = Counter(self.term_ids(lemma_list))
        if not counts:
            return self._activate(np.zeros(self.dim, dtype=np.float32))
        terms = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64,
                                           count=len(counts)))) * self.idf.take(terms)
        values = (values / np.sqrt(values @ values)).astype(np.float32)
        return self._activate(values @ self.projection.take(terms, axis=0))

    def _activate(self, projected: np.ndarray) -> np.ndarray:
        if self.activation == "linear":
            return projected + self.intercept if self.intercept.any() else projected
        return (1.0 / (1.0 + np.exp(-(projected + self.intercept)))).astype(np.float32)

    def describe(self) -> dict[str, Any]:
        """What this is and how it was fitted, for the model manifest."""
        n_phrases = sum(len(v) for v in self._lookup.phrases.values())
        return {"kind": "feed-representation", "format": FORMAT, "dim": self.dim,
                "terms": len(self.vocabulary), "phrases": n_phrases,
                "activation": self.activation, **self.info}

    # -- files ------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """One ``.npz`` of plain arrays: terms as fixed-width unicode, the projection stored
        as float16 (half the bytes; the scores do not move: tested), metadata as JSON text."""
        np.savez_compressed(
            Path(path),
            format=np.array(FORMAT),
            vocabulary=np.array(self.vocabulary, dtype=np.str_),
            idf=self.idf,
            projection=self.projection.astype(np.float16),
            intercept=self.intercept,
            activation=np.array(self.activation),
            info=np.array(json.dumps(self.info, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path | BinaryIO) -> FeedRepresentation:
        """Read a file written by :meth:`save` (a path, or an open binary file such as the
        verified bytes of a model artifact); never unpickles (``allow_pickle=False``)."""
        source = path if hasattr(path, "read") else Path(path)
        try:
            archive = np.load(source, allow_pickle=False)
        except zipfile.BadZipFile as error:  # e.g. a truncated copy: a file error, not a crash
            raise ValueError(f"{path}: not a feed representation ({error})") from None
        with archive as data:
            missing = {"format", "vocabulary", "idf", "projection", "info"} - set(data.files)
            if missing:
                raise ValueError(f"{path}: not a feed representation (missing "
                                 f"{', '.join(sorted(missing))})")
            if str(data["format"]) != FORMAT:
                raise ValueError(f"{path}: format {str(data['format'])!r}, expected {FORMAT!r}")
            # intercept and activation came later: files without them are linear maps.
            return cls(data["vocabulary"].tolist(), data["idf"],
                       data["projection"].astype(np.float32), json.loads(str(data["info"])),
                       data["intercept"] if "intercept" in data.files else None,
                       str(data["activation"]) if "activation" in data.files else "linear")


# -- fitting ---------------------------------------------------------------------------------


def mine_phrases(content_lists: Sequence[Sequence[str]], min_count: int = 20,
                 min_npmi: float = 0.35, max_phrases: int = 10000) -> list[str]:
    """Two-word collocations of a corpus: adjacent content-word pairs that occur in at least
    ``min_count`` papers and whose normalised PMI (document level) is at least ``min_npmi``
    (1 = the words only ever occur together); the ``max_phrases`` most frequent are kept.

    Document frequencies rather than raw counts, so one paper repeating a name cannot make
    it a phrase. Ties are broken by the phrase text: deterministic."""
    n = len(content_lists)
    words: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for content in content_lists:
        words.update(set(content))
        pairs.update(set(zip(content, content[1:], strict=False)))
    kept = []
    for (a, b), count in pairs.items():
        if count < min_count or a == b:
            continue
        p_ab = count / n
        npmi = math.log(p_ab / (words[a] / n * words[b] / n)) / -math.log(p_ab)
        if npmi >= min_npmi:
            kept.append((-count, f"{a} {b}"))
    return [phrase for _, phrase in sorted(kept)[:max_phrases]]


def _vocabulary(content_lists: Sequence[Sequence[str]], min_df: int, max_terms: int,
                phrases: Sequence[str]) -> tuple[list[str], _TermLookup]:
    """The ``max_terms`` most document-frequent unigrams with df >= ``min_df``, then the
    phrases; the term ids of every paper."""
    df: Counter[str] = Counter()
    for content in content_lists:
        df.update(set(content))
    unigrams = sorted((w for w, c in df.items() if c >= min_df), key=lambda w: (-df[w], w))
    unigrams = unigrams[:max_terms]
    known = set(unigrams)
    # A phrase needs both its words in the vocabulary (ppmi builds its vector from theirs).
    vocabulary = unigrams + [p for p in phrases if set(p.split(" ")) <= known]
    return vocabulary, _TermLookup(vocabulary)


def _idf(term_lists: Sequence[Sequence[int]], n_terms: int) -> np.ndarray:
    """Smoothed IDF as scikit-learn computes it: ln((1 + n) / (1 + df)) + 1."""
    df = np.zeros(n_terms, dtype=np.float64)
    for terms in term_lists:
        df[np.unique(np.asarray(terms, dtype=np.int64))] += 1
    return (np.log((1 + len(term_lists)) / (1 + df)) + 1).astype(np.float32)


def _svd(matrix: sp.spmatrix, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``dim`` singular vectors (right ones, as columns) and values, sign-fixed so the
    result does not depend on the solver's arbitrary signs."""
    from sklearn.utils.extmath import randomized_svd
    _u, s, vt = randomized_svd(matrix, n_components=dim, n_iter=5, random_state=seed)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1
    return (vt * signs[:, None]).T, s


def _ppmi_vectors(term_lists: Sequence[Sequence[int]], n_terms: int, dim: int, window: int,
                  seed: int) -> np.ndarray:
    """Word vectors from positive PMI over a symmetric window of neighbouring terms, with
    the context distribution smoothed (alpha 0.75, Levy et al. 2015), factorised by SVD;
    vectors are U * sqrt(S) (the symmetric split works best for similarity)."""
    lengths = np.array([len(t) for t in term_lists], dtype=np.int64)
    flat = np.fromiter((j for t in term_lists for j in t), dtype=np.int64,
                       count=int(lengths.sum()))
    doc = np.repeat(np.arange(len(term_lists)), lengths)
    counts = sp.csr_matrix((n_terms, n_terms), dtype=np.float64)
    for offset in range(1, window + 1):
        same = doc[offset:] == doc[:-offset]
        left, right = flat[:-offset][same], flat[offset:][same]
        weight = np.full(len(left), 1.0 / offset)  # nearer neighbours count more (GloVe)
        pair = sp.coo_matrix((weight, (left, right)), shape=(n_terms, n_terms)).tocsr()
        counts = counts + pair + pair.T
    counts.eliminate_zeros()
    rows = np.asarray(counts.sum(axis=1)).ravel()
    contexts = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    coo = counts.tocoo()
    # log P(w, c) / (P(w) P_0.75(c)); the total count cancels out.
    pmi = (np.log(coo.data) - np.log(rows[coo.row]) - np.log(contexts[coo.col])
           + np.log(contexts.sum()))
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)
    from sklearn.utils.extmath import randomized_svd
    u, s, _vt = randomized_svd(ppmi, n_components=dim, n_iter=5, random_state=seed)
    signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(u.shape[1])])
    signs[signs == 0] = 1
    return u * signs * np.sqrt(s)


def fit_feed_representation(
    lemma_lists: Sequence[Sequence[str]],
    dim: int = 256,
    seed: int = 0,
    method: str = "lsa",
    min_df: int = 20,
    max_terms: int = 30000,
    phrases: int = 0,
    window: int = 5,
    corpus: str = "",
) -> FeedRepresentation:
    """Learn a :class:`FeedRepresentation` from papers given as lemma lists (title and
    abstract). Deterministic for a given corpus, parameters and ``seed``.

    ``method``: ``"lsa"`` or ``"ppmi"`` (see the module docstring); ``min_df``/``max_terms``:
    the unigram vocabulary (most frequent first); ``phrases``: how many mined collocations to
    add as terms (0: none); ``window``: the co-occurrence window of ``"ppmi"``; ``corpus``:
    a description of the fitting corpus, recorded in :meth:`FeedRepresentation.describe`.
    """
    if method not in ("lsa", "ppmi"):
        raise ValueError(f"method must be 'lsa' or 'ppmi', not {method!r}")
    content = [_content(x) for x in lemma_lists]
    mined = mine_phrases(content, max_phrases=phrases) if phrases else []
    vocabulary, lookup = _vocabulary(content, min_df, max_terms, mined)
    if len(vocabulary) <= dim:
        raise ValueError(f"{len(vocabulary)} terms is too few for {dim} dimensions "
                         f"(lower min_df or dim)")
    term_lists = [lookup.terms(x) for x in content]
    idf = _idf(term_lists, len(vocabulary))
    if method == "lsa":
        projection, _s = _svd(_tfidf(term_lists, idf), dim, seed)
    else:
        # Co-occurrence over the unigram sequence; phrases get the mean of their two words'
        # vectors (a phrase is not a position in the text).
        unigram_lists = [[lookup.unigrams[w] for w in x if w in lookup.unigrams]
                         for x in content]
        n_unigrams = len(lookup.unigrams)
        vectors = _ppmi_vectors(unigram_lists, n_unigrams, dim, window, seed)
        phrase_vectors = [(vectors[lookup.unigrams[a]] + vectors[lookup.unigrams[b]]) / 2
                          for a, b in (p.split(" ") for p in vocabulary[n_unigrams:])]
        projection = np.vstack([vectors, *phrase_vectors]) if phrase_vectors else vectors
    info = {"method": method, "seed": seed, "documents": len(lemma_lists), "min_df": min_df,
            "max_terms": max_terms, "phrases_requested": phrases, "corpus": corpus}
    if method == "ppmi":
        info["window"] = window
    return FeedRepresentation(vocabulary, idf, projection, info)


def fit_category_representation(
    lemma_lists: Sequence[Sequence[str]],
    category_lists: Sequence[Sequence[str]],
    min_papers: int = 400,
    C: float = 1.0,
    min_df: int = 20,
    max_terms: int = 30000,
    activation: str = "linear",
    corpus: str = "",
    title_themes: Sequence[Sequence[str]] | None = None,
    abstract_lemma_lists: Sequence[Sequence[str]] | None = None,
    min_title_papers: int = 200,
) -> FeedRepresentation:
    """Learn the ``"categories"`` representation: for every arXiv category filed on at least
    ``min_papers`` of the papers, a class-balanced logistic regression (regularisation ``C``)
    from the paper's TF-IDF terms to "filed in this category"; the coefficients become the
    projection. ``activation="linear"``: a paper is its vector of category log-odds without
    the intercepts (a direction, unit-normalised by the estimator); ``"sigmoid"``: the
    category probabilities. Deterministic (liblinear on a fixed corpus); categories in name
    order.

    ``title_themes`` (optional, one list per paper: the themes whose phrases its *title*
    names) adds one more target per theme named in at least ``min_title_papers`` titles,
    learnt from the abstract alone (``abstract_lemma_lists``): "would the author put this
    theme in the title?". A title names what a paper is about, so these predictors learn
    what an abstract looks like when a theme is central rather than merely mentioned, the
    distinction the few labelled papers of a rare theme cannot teach. The targets are called
    ``title:<theme>``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, not {activation!r}")
    if (title_themes is None) != (abstract_lemma_lists is None):
        raise ValueError("title_themes and abstract_lemma_lists go together")
    content = [_content(x) for x in lemma_lists]
    vocabulary, lookup = _vocabulary(content, min_df, max_terms, [])
    term_lists = [lookup.terms(x) for x in content]
    idf = _idf(term_lists, len(vocabulary))
    X = _tfidf(term_lists, idf)
    filed = Counter(c for categories in category_lists for c in set(categories))
    names = sorted(c for c, n in filed.items() if min_papers <= n < len(category_lists))
    if not names:
        raise ValueError(f"no category is filed on {min_papers} or more of the papers")
    targets = [(X, name, category_lists) for name in names]
    titled: list[str] = []
    if title_themes is not None:
        X_abstract = _tfidf([lookup.terms(_content(x)) for x in abstract_lemma_lists], idf)
        named = Counter(t for themes in title_themes for t in set(themes))
        titled = sorted(t for t, n in named.items() if min_title_papers <= n < len(title_themes))
        targets += [(X_abstract, theme, title_themes) for theme in titled]
    coefficients, intercepts = [], []
    for X_target, name, label_lists in targets:
        coefficient, intercept = _label_predictor(X_target, name, label_lists, C)
        coefficients.append(coefficient)
        intercepts.append(intercept)
    info = {"method": "categories", "categories": names + [f"title:{t}" for t in titled],
            "documents": len(lemma_lists), "min_papers": min_papers, "C": C, "min_df": min_df,
            "max_terms": max_terms, "corpus": corpus}
    if title_themes is not None:
        info["min_title_papers"] = min_title_papers
    intercept = np.asarray(intercepts) if activation == "sigmoid" else None
    return FeedRepresentation(vocabulary, idf, np.vstack(coefficients).T, info, intercept,
                              activation)


def _label_predictor(X: sp.csr_matrix, name: str, label_lists: Sequence[Sequence[str]],
                     C: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of a class-balanced logistic regression telling the papers
    whose label list holds ``name`` from the others."""
    from sklearn.linear_model import LogisticRegression

    y = np.fromiter((name in labels for labels in label_lists), dtype=bool,
                    count=len(label_lists))
    model = LogisticRegression(C=C, solver="liblinear", class_weight="balanced").fit(X, y)
    return model.coef_[0], float(model.intercept_[0])


class DocumentFrequencies:
    """How many papers of a reference corpus (a feed sample) contain each word n-gram, so the
    word block's IDF can be estimated on the labelled papers and that corpus together."""

    def __init__(self, n_documents: int, counts: dict[str, int]):
        self.n_documents = n_documents
        self.counts = counts

    def pooled_idf(self, vocabulary: dict[str, int], idf: np.ndarray, n_labelled: int,
                   ) -> np.ndarray:
        """Smoothed IDF over labelled + reference papers for a fitted vocabulary, given the
        labelled-only smoothed IDF (``ln((1+n)/(1+df)) + 1``) it replaces."""
        df_labelled = (1 + n_labelled) / np.exp(idf - 1) - 1
        terms = sorted(vocabulary, key=vocabulary.get)
        df_reference = np.fromiter((self.counts.get(t, 0) for t in terms), dtype=float,
                                   count=len(terms))
        total = 1 + n_labelled + self.n_documents
        return np.log(total / (1 + df_labelled + df_reference)) + 1
