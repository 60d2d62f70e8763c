"""Label-free drift report over a dated feed: what a curator looks at to decide when to retrain.

Per period (month or quarter) of a feed of unlabelled papers: the number of papers, the share
of papers given each theme, the mean and quantiles of each theme's calibrated score, the rate of
out-of-vocabulary words, and flags where a theme's rate or score distribution moved away from a
reference period (the first few well-populated periods).

The feed is streamed in batches and reduced to fixed-size per-period accumulators (counts and
score histograms), so memory does not grow with the feed. Scores come from
:meth:`tagger.tagging.Tagger.score`, the function ``Tagger.tag`` turns into tags (a theme is
given when its score is >= 0.5), so the shares here are the shares of tags the product gives.

Flags (thresholds in :class:`DriftThresholds`, documented in ``docs/drift.md``):

* ``rate``: the share of papers given the theme moved, with confidence, by a factor of at
  least ``rate_ratio`` (up or down) against the reference: the whole confidence interval of
  the ratio of shares (log-ratio interval, ``rate_z`` standard errors each side) lies beyond
  ``rate_ratio`` or ``1 / rate_ratio``. A point estimate alone would flag noise in small
  months, rare themes and ``--sample`` quick looks; ``rate_z = 3`` (one-sided 0.13% at the
  boundary) keeps false flags rare over ~500 theme x period comparisons.
* ``scores``: the population stability index (PSI) of the theme's score distribution on fixed
  calibrated-score bins (:data:`PSI_EDGES`) is at least ``psi`` (0.25 is the customary "major
  shift" level; 0.1-0.25 is "moderate"). Fixed bins on calibrated scores, rather than reference
  deciles, keep the index about the region that matters (candidates and tags): deciles would be
  dominated by how the ~99% of clearly-negative papers reshuffle among themselves whenever the
  feed's subject mix changes.
* ``oov``: the share of content words the model's vocabulary does not know rose by at least
  ``oov_rise`` (absolute) over the reference: the vocabulary is ageing.

The two-sample Kolmogorov-Smirnov statistic of each theme's score distribution is reported for
information but does not flag: with thousands of papers a month any reshuffle of near-zero
scores is "significant", whatever it means for the tags.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagger.corpus import Document, RecordError
from tagger.features import content_words
from tagger.tagging import DECISION_SCORE
from tagger.text import lemmas

if TYPE_CHECKING:
    from tagger.tagging import Tagger

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PERIODS = ("month", "quarter")
BATCH_SIZE = 512
# Fixed bins of calibrated scores for the PSI: fine where the decision is made, coarse where
# every paper is a clear negative.
PSI_EDGES = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.0 + 1e-9])
# Fine histogram of each theme's score in logit space (quantiles, KS): 0.05 logit per bin.
LOGIT_RANGE = 14.0
LOGIT_BINS = 560
QUANTILES = (0.5, 0.9, 0.99)
# A PSI bin empty on one side would make the index infinite; add this many papers to each bin.
PSI_PSEUDOCOUNT = 0.5


@dataclass(frozen=True)
class DriftThresholds:
    """When a period is flagged, and which periods are judged at all (see the module doc)."""

    psi: float = 0.25
    rate_ratio: float = 1.5
    rate_z: float = 3.0
    oov_rise: float = 0.02
    min_papers: int = 200
    reference_periods: int = 3


def model_vocabulary(tagger: Tagger) -> frozenset[str]:
    """The words (lemmas) the model's word block knows. The one place that knows how to get
    them from the estimator: its ``word:<n-gram>`` feature names, unigrams only."""
    names = tagger.estimator.get_feature_names_out()
    vocabulary = frozenset(str(name)[5:] for name in names
                           if str(name).startswith("word:") and " " not in str(name))
    if not vocabulary:  # a renamed feature block would otherwise read as 100% OOV words
        raise ValueError("the model names no 'word:<lemma>' features; adapt "
                         "tagger.training.drift.model_vocabulary to its feature names")
    return vocabulary


def period_of(month: str, by: str) -> str:
    """``2025-05`` -> ``2025-05`` (month) or ``2025-Q2`` (quarter)."""
    if by == "quarter":
        year, number = month.split("-")
        return f"{year}-Q{(int(number) - 1) // 3 + 1}"
    return month


def parse_month_range(text: str) -> tuple[str, str]:
    """``FROM:TO`` (inclusive, either side may be empty) or one ``YYYY-MM``; ValueError when
    malformed."""
    low, sep, high = text.partition(":")
    if not sep:
        high = low
    for part in (low, high):
        if part and not MONTH.match(part):
            raise ValueError(f"--months: {part!r} is not a month (YYYY-MM)")
    if low and high and low > high:
        raise ValueError(f"--months: {low} is after {high}")
    return low or "0000-01", high or "9999-12"


def document_month(doc: Document) -> str:
    """The paper's month (``YYYY-MM``) or ``""``; ``Document.month`` is optional."""
    return str(getattr(doc, "month", "") or "")


def primary_category(doc: Document) -> str:
    categories = getattr(doc, "categories", ()) or ()
    return str(categories[0]) if categories else ""


# --- accumulation ----------------------------------------------------------------------------


@dataclass
class PeriodStats:
    """Everything kept about one period: fixed size whatever the number of papers."""

    n_themes: int
    papers: int = 0
    no_theme: int = 0
    content_words: int = 0
    oov_words: int = 0
    tagged: np.ndarray = field(init=False)
    score_sum: np.ndarray = field(init=False)
    psi_hist: np.ndarray = field(init=False)
    logit_hist: np.ndarray = field(init=False)
    categories: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        k = self.n_themes
        self.tagged = np.zeros(k, dtype=np.int64)
        self.score_sum = np.zeros(k, dtype=np.float64)
        self.psi_hist = np.zeros((k, len(PSI_EDGES) - 1), dtype=np.int64)
        self.logit_hist = np.zeros((k, LOGIT_BINS), dtype=np.int64)

    def add(self, scores: np.ndarray, oov: np.ndarray, content: np.ndarray,
            categories: Sequence[str]) -> None:
        n, k = scores.shape
        self.papers += n
        given = scores >= DECISION_SCORE
        self.tagged += given.sum(axis=0)
        self.no_theme += int((~given.any(axis=1)).sum())
        self.score_sum += scores.sum(axis=0)
        self.content_words += int(content.sum())
        self.oov_words += int(oov.sum())
        self.categories.update(c for c in categories if c)
        psi_bins = np.searchsorted(PSI_EDGES, scores, side="right") - 1
        logit_bins = _logit_bins(scores)
        for theme in range(k):
            self.psi_hist[theme] += np.bincount(psi_bins[:, theme],
                                                minlength=len(PSI_EDGES) - 1)
            self.logit_hist[theme] += np.bincount(logit_bins[:, theme], minlength=LOGIT_BINS)

    def merge(self, other: PeriodStats) -> None:
        for name in ("papers", "no_theme", "content_words", "oov_words"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.tagged += other.tagged
        self.score_sum += other.score_sum
        self.psi_hist += other.psi_hist
        self.logit_hist += other.logit_hist
        self.categories.update(other.categories)


def _logit_bins(scores: np.ndarray) -> np.ndarray:
    clipped = np.clip(scores, 1e-9, 1 - 1e-9)
    logits = np.log(clipped / (1 - clipped))
    position = (logits + LOGIT_RANGE) / (2 * LOGIT_RANGE) * LOGIT_BINS
    return np.clip(position.astype(np.int64), 0, LOGIT_BINS - 1)


def _logit_bin_score(position: float) -> float:
    logit = position / LOGIT_BINS * 2 * LOGIT_RANGE - LOGIT_RANGE
    return float(1 / (1 + math.exp(-logit)))


def histogram_quantile(hist: np.ndarray, q: float) -> float:
    """The ``q`` quantile of scores from a fine logit histogram (linear within a bin)."""
    total = hist.sum()
    if total == 0:
        return float("nan")
    cumulative = np.cumsum(hist)
    target = q * total
    b = int(np.searchsorted(cumulative, target, side="left"))
    b = min(b, LOGIT_BINS - 1)
    before = cumulative[b - 1] if b else 0
    inside = (target - before) / hist[b] if hist[b] else 0.0
    return _logit_bin_score(b + float(np.clip(inside, 0.0, 1.0)))


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins:
    ``sum((c - r) * ln(c / r))`` of the bin shares (pseudo-count per bin)."""
    r = (reference + PSI_PSEUDOCOUNT) / (reference.sum() + PSI_PSEUDOCOUNT * len(reference))
    c = (current + PSI_PSEUDOCOUNT) / (current.sum() + PSI_PSEUDOCOUNT * len(current))
    return float(np.sum((c - r) * np.log(c / r)))


def ks_statistic(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov ``D`` (at the histogram's resolution) and its asymptotic
    p-value."""
    n, m = reference.sum(), current.sum()
    if not n or not m:
        return float("nan"), float("nan")
    d = float(np.max(np.abs(np.cumsum(reference) / n - np.cumsum(current) / m)))
    from scipy.special import kolmogorov

    return d, float(kolmogorov(d * math.sqrt(n * m / (n + m))))


def rate_test(k_ref: int, n_ref: int, k: int, n: int, z_bound: float = 3.0
              ) -> tuple[float, float, float, float]:
    """The ratio of the period's share to the reference share, its confidence interval at
    ``z_bound`` standard errors (log-ratio interval; each count +0.5, each total +1, so a
    theme never seen still has finite bounds), and the pooled two-proportion z statistic
    (for information). Returns ``(ratio, low, high, z)``."""
    p, p_ref = (k + 0.5) / (n + 1), (k_ref + 0.5) / (n_ref + 1)
    ratio = p / p_ref
    spread = math.sqrt((1 - p) / (k + 0.5) + (1 - p_ref) / (k_ref + 0.5))
    low, high = ratio * math.exp(-z_bound * spread), ratio * math.exp(z_bound * spread)
    pooled = (k + k_ref) / (n + n_ref)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / n_ref)) if 0 < pooled < 1 else 0.0
    z = (k / n - k_ref / n_ref) / se if se else 0.0
    return ratio, low, high, z


# --- reading and scoring -----------------------------------------------------------------------


@dataclass
class FeedCounts:
    """What happened to the input records."""

    read: int = 0
    skipped: int = 0
    outside: int = 0
    scored: int = 0


def dated_documents(
    documents: Iterable[Document], on_error: Callable[[RecordError], None], counts: FeedCounts,
    months: tuple[str, str] | None = None,
) -> Iterator[Document]:
    """The documents with a month (others go to ``on_error`` as ``FILE:LINE: reason``), those
    outside ``months`` (inclusive range) dropped and counted."""
    for doc in documents:
        counts.read += 1
        month = document_month(doc)
        if not MONTH.match(month):
            counts.skipped += 1
            reason = "no 'month' field (YYYY-MM)" if not month else f"bad month {month!r}"
            on_error(RecordError(doc.source, doc.line, reason))
            continue
        if months is not None and not months[0] <= month <= months[1]:
            counts.outside += 1
            continue
        yield doc


def sample_per_period(documents: Iterable[Document], size: int, by: str,
                      seed: int = 0) -> Iterator[Document]:
    """A uniform random sample of at most ``size`` documents per period (reservoir sampling,
    seeded): memory is ``size`` x the number of periods, whatever the feed's length."""
    rng = random.Random(seed)
    reservoirs: dict[str, list[Document]] = {}
    seen: Counter = Counter()
    for doc in documents:
        period = period_of(document_month(doc), by)
        i = seen[period]
        seen[period] += 1
        reservoir = reservoirs.setdefault(period, [])
        if i < size:
            reservoir.append(doc)
        else:
            j = rng.randrange(i + 1)
            if j < size:
                reservoir[j] = doc
    for period in sorted(reservoirs):
        yield from reservoirs[period]


def oov_counts(documents: Sequence[Document], vocabulary: frozenset[str]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per document: content words (lemmas that are not stop words or numbers) in title and
    abstract, and how many of them the vocabulary does not know."""
    content = np.empty(len(documents), dtype=np.int64)
    unknown = np.empty(len(documents), dtype=np.int64)
    known = vocabulary.__contains__
    for i, doc in enumerate(documents):
        words = content_words(lemmas(doc.title) + lemmas(doc.abstract))
        content[i] = len(words)
        unknown[i] = len(words) - sum(map(known, words))
    return unknown, content


class DriftAccumulator:
    """Per-period statistics of scored batches."""

    def __init__(self, theme_ids: Sequence[str], by: str = "month"):
        if by not in PERIODS:
            raise ValueError(f"by must be one of {', '.join(PERIODS)}, not {by!r}")
        self.theme_ids = list(theme_ids)
        self.by = by
        self.periods: dict[str, PeriodStats] = {}

    def add(self, periods: Sequence[str], scores: np.ndarray, oov: np.ndarray,
            content: np.ndarray, categories: Sequence[str]) -> None:
        periods_array = np.asarray(periods)
        for period in sorted(set(periods)):
            rows = np.flatnonzero(periods_array == period)
            stats = self.periods.setdefault(period, PeriodStats(len(self.theme_ids)))
            stats.add(scores[rows], oov[rows], content[rows], [categories[i] for i in rows])

    def add_documents(self, tagger: Tagger, documents: Sequence[Document],
                      vocabulary: frozenset[str]) -> None:
        """Score one batch and add it."""
        scores = tagger.score(documents)
        oov, content = oov_counts(documents, vocabulary)
        self.add([period_of(document_month(d), self.by) for d in documents], scores, oov,
                 content, [primary_category(d) for d in documents])


def scan_feed(tagger: Tagger, documents: Iterable[Document], by: str = "month",
              batch_size: int = BATCH_SIZE,
              progress: Callable[[int], None] | None = None) -> DriftAccumulator:
    """Score dated documents batch by batch into a :class:`DriftAccumulator`."""
    accumulator = DriftAccumulator(tagger.taxonomy.ids, by)
    vocabulary = model_vocabulary(tagger)
    iterator = iter(documents)
    while batch := list(islice(iterator, batch_size)):
        accumulator.add_documents(tagger, batch, vocabulary)
        if progress is not None:
            progress(len(batch))
    return accumulator


# --- the same in worker processes (``tagger report --jobs N``) ----------------------------------

_vocabularies: dict[str, frozenset[str]] = {}


def _score_in_worker(model_dir: str, by: str, batch: list[Document], compiled: bool) -> tuple:
    """One batch scored in a pool worker: the model (checksum-verified) and its vocabulary
    are loaded once per process (a forked worker finds the parent's, compiled if it was);
    returns what :meth:`DriftAccumulator.add` takes."""
    from tagger.bulk.scoring import model_from_dir

    tagger = model_from_dir(model_dir, compiled)
    if model_dir not in _vocabularies:
        _vocabularies[model_dir] = model_vocabulary(tagger)
    oov, content = oov_counts(batch, _vocabularies[model_dir])
    return ([period_of(document_month(d), by) for d in batch], tagger.score(batch), oov,
            content, [primary_category(d) for d in batch])


def scan_feed_parallel(model_dir: str | Path, theme_ids: Sequence[str],
                       documents: Iterable[Document], jobs: int, by: str = "month",
                       batch_size: int = BATCH_SIZE,
                       progress: Callable[[int], None] | None = None,
                       compiled: bool = False) -> DriftAccumulator:
    """:func:`scan_feed` over ``jobs`` forked worker processes (``compiled``: scoring through
    the compiled kernel, see :func:`tagger.bulk.scoring.compiled_scoring`). Reading stays in
    this process and at most ``2 * jobs + 1`` batches are in flight, so memory stays flat;
    the sums are the same whatever the order batches finish in."""
    import multiprocessing
    from collections import deque

    accumulator = DriftAccumulator(theme_ids, by)
    model_dir = str(Path(model_dir).resolve())
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    iterator = iter(documents)
    window: deque = deque()

    def collect() -> None:
        periods, scores, oov, content, categories = window.popleft().get()
        accumulator.add(periods, scores, oov, content, categories)
        if progress is not None:
            progress(len(periods))

    with context.Pool(jobs) as pool:
        while batch := list(islice(iterator, batch_size)):
            window.append(pool.apply_async(_score_in_worker, (model_dir, by, batch, compiled)))
            if len(window) > 2 * jobs:
                collect()
        while window:
            collect()
    return accumulator


# --- analysis ------------------------------------------------------------------------------


def _r(value: float, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def reference_periods(accumulator: DriftAccumulator, thresholds: DriftThresholds,
                      reference: Sequence[str] | None = None) -> list[str]:
    """The given reference periods, else the first ``thresholds.reference_periods`` periods
    that have at least ``thresholds.min_papers`` papers."""
    if reference:
        missing = [p for p in reference if p not in accumulator.periods]
        if missing:
            raise ValueError(f"reference period(s) not in the feed: {', '.join(missing)}")
        return list(reference)
    judged = [p for p in sorted(accumulator.periods)
              if accumulator.periods[p].papers >= thresholds.min_papers]
    return judged[: thresholds.reference_periods]


def drift_report(accumulator: DriftAccumulator, thresholds: DriftThresholds | None = None,
                 reference: Sequence[str] | None = None) -> dict:
    """The numbers and flags, as a JSON-ready dict (see ``docs/drift.md`` for the fields)."""
    thresholds = thresholds or DriftThresholds()
    themes = accumulator.theme_ids
    ref_names = reference_periods(accumulator, thresholds, reference)
    if not ref_names:
        raise ValueError(f"no period has {thresholds.min_papers} papers or more to serve as "
                         "the reference; lower --min-papers or give more of the feed")
    ref = PeriodStats(len(themes))
    for name in ref_names:
        ref.merge(accumulator.periods[name])
    ref_oov = ref.oov_words / max(ref.content_words, 1)
    periods, flags = [], []
    for name in sorted(accumulator.periods):
        stats = accumulator.periods[name]
        in_reference = name in ref_names
        judged = stats.papers >= thresholds.min_papers and not in_reference
        oov_rate = stats.oov_words / max(stats.content_words, 1)
        row: dict = {
            "period": name, "papers": stats.papers, "reference": in_reference, "judged": judged,
            "no_theme_share": _r(stats.no_theme / max(stats.papers, 1)),
            "oov_rate": _r(oov_rate), "oov_change": _r(oov_rate - ref_oov),
            "top_categories": [[c, n] for c, n in stats.categories.most_common(5)],
            "themes": {}, "flags": [],
        }
        if judged and oov_rate - ref_oov >= thresholds.oov_rise:
            row["flags"].append({"theme": None, "kind": "oov", "value": _r(oov_rate),
                                 "reference": _r(ref_oov)})
        for k, theme in enumerate(themes):
            n = max(stats.papers, 1)
            ratio, low, high, z = rate_test(int(ref.tagged[k]), ref.papers,
                                            int(stats.tagged[k]), n, thresholds.rate_z)
            d, p = ks_statistic(ref.logit_hist[k], stats.logit_hist[k])
            cell = {
                "tagged": int(stats.tagged[k]), "share": _r(stats.tagged[k] / n),
                "mean_score": _r(stats.score_sum[k] / n),
                **{f"p{round(q * 100)}": _r(histogram_quantile(stats.logit_hist[k], q))
                   for q in QUANTILES},
                "psi": _r(psi(ref.psi_hist[k], stats.psi_hist[k])),
                "rate_ratio": _r(ratio, 3), "rate_low": _r(low, 3), "rate_high": _r(high, 3),
                "rate_z": _r(z, 2), "ks": _r(d), "ks_p": _r(p, 6),
            }
            row["themes"][theme] = cell
            if not judged:
                continue
            if low >= thresholds.rate_ratio or high <= 1 / thresholds.rate_ratio:
                row["flags"].append({"theme": theme, "kind": "rate", "value": cell["share"],
                                     "reference": _r(ref.tagged[k] / ref.papers),
                                     "ratio": cell["rate_ratio"],
                                     "bound": cell["rate_low"] if ratio > 1 else cell["rate_high"],
                                     "z": cell["rate_z"]})
            if cell["psi"] is not None and cell["psi"] >= thresholds.psi:
                row["flags"].append({"theme": theme, "kind": "scores", "value": cell["psi"],
                                     "reference": None})
        periods.append(row)
        flags += [{"period": name, **flag} for flag in row["flags"]]
    return {
        "by": accumulator.by,
        "themes": themes,
        "thresholds": asdict(thresholds),
        "reference": {
            "periods": ref_names, "papers": ref.papers, "oov_rate": _r(ref_oov),
            "share": {t: _r(ref.tagged[k] / max(ref.papers, 1)) for k, t in enumerate(themes)},
        },
        "periods": periods,
        "flags": flags,
    }


def run_drift(tagger: Tagger, documents: Iterable[Document], by: str = "month",
              thresholds: DriftThresholds | None = None, reference: Sequence[str] | None = None,
              batch_size: int = BATCH_SIZE,
              progress: Callable[[int], None] | None = None) -> dict:
    """Scan and analyse; the report also says which model and how long it took."""
    started = time.perf_counter()
    accumulator = scan_feed(tagger, documents, by=by, batch_size=batch_size, progress=progress)
    if not accumulator.periods:
        raise ValueError("no dated papers to report on")
    report = drift_report(accumulator, thresholds, reference)
    seconds = time.perf_counter() - started
    papers = sum(p["papers"] for p in report["periods"])
    report["model"] = {"name": tagger.name, "version": tagger.version}
    report["timing"] = {"seconds": round(seconds, 1),
                        "papers_per_second": round(papers / seconds) if seconds else None}
    return report


def format_report(report: dict) -> str:
    """A plain-text summary: one line per period, then the flags."""
    lines = [f"reference: {', '.join(report['reference']['periods'])} "
             f"({report['reference']['papers']} papers, OOV rate "
             f"{report['reference']['oov_rate']:.1%})",
             f"{'period':9} {'papers':>7} {'no-theme':>8} {'OOV':>6} {'flags':>5}"]
    few = [row for row in report["periods"] if not row["reference"] and not row["judged"]]
    for row in report["periods"]:
        if row in few:
            continue
        note = "ref" if row["reference"] else ""
        lines.append(f"{row['period']:9} {row['papers']:7d} {row['no_theme_share']:8.1%} "
                     f"{row['oov_rate']:6.1%} {len(row['flags']):5d} {note}")
    if few:
        lines.append(f"(+ {len(few)} periods with fewer than "
                     f"{report['thresholds']['min_papers']} papers, "
                     f"{sum(r['papers'] for r in few)} in all: in the JSON, never judged)")
    lines.append("")
    if not report["flags"]:
        lines.append("no flags")
    else:
        lines += ["flags by theme:"] + ["  " + describe_theme_flags(row)
                                         for row in flags_by_theme(report)] + ["", "flags:"]
    for flag in report["flags"]:
        lines.append(describe_flag(flag))
    return "\n".join(lines)


def flags_by_theme(report: dict) -> list[dict]:
    """One line per theme (or ``oov``) that has flags: how many periods, the first and last,
    and which way the share moved: the curator's short list."""
    summary: dict[str, dict] = {}
    for flag in report["flags"]:
        key = flag["theme"] or "out-of-vocabulary words"
        item = summary.setdefault(key, {"theme": key, "periods": 0, "first": flag["period"],
                                        "last": flag["period"], "kinds": Counter(),
                                        "up": 0, "down": 0})
        if flag["period"] != item["last"] or not item["periods"]:
            item["periods"] += 1
        item["last"] = flag["period"]
        item["kinds"][flag["kind"]] += 1
        if flag["kind"] == "rate":
            item["up" if flag["ratio"] > 1 else "down"] += 1
    rows = sorted(summary.values(), key=lambda r: (-r["periods"], r["theme"]))
    for row in rows:
        row["kinds"] = dict(row["kinds"])
    return rows


def describe_theme_flags(row: dict) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in row["kinds"].items())
    moves = (f"; share up in {row['up']}, down in {row['down']}"
             if row["up"] or row["down"] else "")
    return (f"{row['theme']}: flagged in {row['periods']} period(s), {row['first']} to "
            f"{row['last']} ({kinds}{moves})")


def describe_flag(flag: dict) -> str:
    if flag["kind"] == "oov":
        return (f"{flag['period']}  out-of-vocabulary words {flag['value']:.1%} "
                f"(reference {flag['reference']:.1%})")
    if flag["kind"] == "rate":
        return (f"{flag['period']}  {flag['theme']}: share {flag['value']:.1%} vs "
                f"{flag['reference']:.1%} (x{flag['ratio']:.2f}; "
                f"{'at least' if flag['ratio'] > 1 else 'at most'} x{flag['bound']:.2f})")
    return f"{flag['period']}  {flag['theme']}: score distribution PSI {flag['value']:.2f}"


def write_json(report: dict, path: Path) -> None:
    import json

    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
