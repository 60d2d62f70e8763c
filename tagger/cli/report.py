"""``tagger report``: the label-free drift report of a dated feed, by month or quarter.

A thin layer over :mod:`tagger.training.drift` (numbers and flags) and
:mod:`tagger.training.drift_html` (pictures and page): parse the flags, stream the feed, print
the summary (or JSON), write the HTML and PNGs, and map the counts to the exit status. The
last stderr line is ``scored N, skipped M``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tagger.cli.common import (
    EXIT_USAGE,
    CommandError,
    SkipReporter,
    add_model_argument,
    exit_status,
    load_model_or_fail,
    resolved_model_dir,
)
from tagger.cli.tag import COMPILED_CHOICES
from tagger.corpus import CorpusError, read_corpus


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="drift report of a dated feed (share, scores, OOV words per month)",
        description="Per month (or quarter) of an unlabelled feed (JSON Lines with 'month' "
        "YYYY-MM, optionally .gz): papers, share of papers per theme, score mean and "
        "quantiles, out-of-vocabulary rate, and flags where a theme's share or score "
        "distribution moved away from the reference period. See docs/drift.md.")
    parser.add_argument("feed", nargs="+", metavar="FEED",
                        help="feed files (JSON Lines or CSV, optionally .gz) with a month field")
    parser.add_argument("--by", choices=("month", "quarter"), default="month",
                        help="period of the report (default: month)")
    add_model_argument(parser)
    parser.add_argument("--html", metavar="OUT", type=Path,
                        help="write a self-contained HTML report here, and its PNG plots next "
                        "to it (OUT-stem-volume.png, -share, -scores, -psi)")
    parser.add_argument("--plots", metavar="DIR", type=Path,
                        help="write the PNG plots (drift-*.png) here")
    parser.add_argument("--json", action="store_true",
                        help="print the whole report as one JSON object instead of the summary")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="score at most N random papers per period (quick look)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    parser.add_argument("--months", metavar="FROM:TO",
                        help="only these months, inclusive (2025-01:2025-06, 2025-01:, :2024-12)")
    parser.add_argument("--reference", metavar="FROM:TO",
                        help="reference months (default: the first --reference-periods periods "
                        "with at least --min-papers papers)")
    parser.add_argument("--reference-periods", type=int, default=3, metavar="N",
                        help="default reference: this many first well-populated periods (3)")
    parser.add_argument("--min-papers", type=int, default=200, metavar="N",
                        help="periods with fewer papers are listed but never judged (200)")
    parser.add_argument("--psi", type=float, default=0.25,
                        help="flag a score distribution at this PSI or more (0.25)")
    parser.add_argument("--rate-ratio", type=float, default=1.5,
                        help="flag a theme's share moving by this factor or more (1.5) ...")
    parser.add_argument("--rate-z", type=float, default=3.0,
                        help="... with the ratio's confidence interval of this many standard "
                        "errors each side entirely beyond it (3)")
    parser.add_argument("--oov-rise", type=float, default=0.02,
                        help="flag an out-of-vocabulary rate this much above the reference "
                        "(0.02 = 2 points)")
    parser.add_argument("--batch-size", type=int, default=512, metavar="N",
                        help="papers scored per batch (512)")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="score in N worker processes (default 1)")
    parser.add_argument("--compiled", choices=COMPILED_CHOICES, default="auto",
                        help="score through the compiled kernel as tagger tag does (auto: "
                        "for feeds of 16 MiB or more, unless --sample)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    parser.set_defaults(handler=run)


def _thresholds(args):
    from tagger.training.drift import DriftThresholds

    checks = [("--sample", args.sample, 1), ("--jobs", args.jobs, 1),
              ("--reference-periods", args.reference_periods, 1),
              ("--min-papers", args.min_papers, 1), ("--batch-size", args.batch_size, 1)]
    for name, value, low in checks:
        if value is not None and value < low:
            raise CommandError(f"{name} must be at least {low}", status=EXIT_USAGE)
    if args.rate_ratio <= 1 or args.psi <= 0 or args.rate_z < 0 or args.oov_rise <= 0:
        raise CommandError("--rate-ratio must be > 1, --psi and --oov-rise > 0, --rate-z >= 0",
                           status=EXIT_USAGE)
    return DriftThresholds(psi=args.psi, rate_ratio=args.rate_ratio, rate_z=args.rate_z,
                           oov_rise=args.oov_rise, min_papers=args.min_papers,
                           reference_periods=args.reference_periods)


class _Progress:
    """A plain line every 10 s on stderr (feeds take a minute or more)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.count = 0
        self.started = self.last = time.monotonic()

    def __call__(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if not self.quiet and now - self.last >= 10:
            self.last = now
            print(f"tagger report: {self.count} papers scored "
                  f"({self.count / (now - self.started):.0f}/s)", file=sys.stderr, flush=True)


def run(args) -> int:
    from tagger.training import drift

    started = time.perf_counter()
    thresholds = _thresholds(args)
    try:
        months = drift.parse_month_range(args.months) if args.months else None
        reference_range = drift.parse_month_range(args.reference) if args.reference else None
    except ValueError as error:
        raise CommandError(str(error), status=EXIT_USAGE) from None
    tagger = load_model_or_fail(args.model, shared=True)
    compiled = _compile(args, tagger)
    try:
        drift.model_vocabulary(tagger)
    except ValueError as error:
        raise CommandError(str(error)) from None
    reporter = SkipReporter()
    counts = drift.FeedCounts()
    documents = drift.dated_documents(read_corpus(args.feed, on_error=reporter), reporter,
                                      counts, months)
    if args.sample:
        documents = drift.sample_per_period(documents, args.sample, args.by, args.seed)
    try:
        if args.jobs > 1:
            accumulator = drift.scan_feed_parallel(
                resolved_model_dir(args.model), tagger.taxonomy.ids, documents, args.jobs,
                by=args.by, batch_size=args.batch_size, progress=_Progress(args.quiet),
                compiled=compiled)
        else:
            accumulator = drift.scan_feed(tagger, documents, by=args.by,
                                          batch_size=args.batch_size,
                                          progress=_Progress(args.quiet))
    except CorpusError as error:
        raise CommandError(str(error)) from None
    scored = sum(stats.papers for stats in accumulator.periods.values())
    if not scored:
        print(f"scored 0, skipped {reporter.skipped}", file=sys.stderr)
        raise CommandError("no dated papers to report on")
    reference = None
    if reference_range is not None:
        reference = _periods_in(accumulator.periods, reference_range, args.by)
        if not reference:
            raise CommandError(f"--reference {args.reference}: no papers in those months",
                               status=EXIT_USAGE)
    try:
        report = drift.drift_report(accumulator, thresholds, reference)
    except ValueError as error:
        raise CommandError(str(error)) from None
    report["model"] = {"name": tagger.name, "version": tagger.version}
    report["input"] = {"feed": " ".join(args.feed), "read": counts.read,
                       "skipped": reporter.skipped, "outside_months": counts.outside,
                       "scored": scored, "sample": args.sample}
    seconds = time.perf_counter() - started
    report["timing"] = {"seconds": round(seconds, 1),
                        "papers_per_second": round(scored / seconds) if seconds else None}
    _write_outputs(args, report)
    print(json.dumps(report, indent=2) if args.json else drift.format_report(report))
    print(f"scored {scored}, skipped {reporter.skipped}", file=sys.stderr)
    return exit_status(scored, reporter.skipped)


def _compile(args, tagger) -> bool:
    """Switch the model to the compiled kernel when ``--compiled`` asks (``auto``: a feed
    large enough, and no ``--sample``); done before any worker forks, so they share it. Says
    why not when it cannot, and the batch path scores."""
    from tagger.bulk.scoring import use_compiled, wants_compiled

    if not wants_compiled(args.compiled, args.feed, eligible=not args.sample):
        return False
    return use_compiled(tagger, lambda message: print(message, file=sys.stderr))


def _periods_in(periods, month_range: tuple[str, str], by: str) -> list[str]:
    """The periods (of those present) that overlap an inclusive month range."""
    low, high = month_range

    def months(period: str) -> list[str]:
        if by == "quarter":
            year, quarter = period.split("-Q")
            first = 3 * (int(quarter) - 1) + 1
            return [f"{year}-{m:02d}" for m in range(first, first + 3)]
        return [period]

    return sorted(p for p in periods if any(low <= m <= high for m in months(p)))


def _write_outputs(args, report: dict) -> None:
    from tagger.training.drift_html import write_html, write_plots

    try:
        if args.html:
            plots = write_html(report, args.html)
            print(f"wrote {args.html} and {len(plots)} plots next to it", file=sys.stderr)
        if args.plots:
            plots = write_plots(report, args.plots)
            print(f"wrote {len(plots)} plots to {args.plots}", file=sys.stderr)
    except OSError as error:
        raise CommandError(f"cannot write the report: {error}") from None

