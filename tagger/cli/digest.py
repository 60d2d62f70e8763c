"""``tagger digest``: the new papers per theme since a time, best first, with scores and one
evidence line each, as text, Markdown or HTML, for a cron job to mail (tagger sends no mail;
docs/follow.md has the cron line).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from tagger.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_model_argument,
    add_stream_arguments,
    load_model_or_fail,
    store_errors,
)

FORMATS = ("markdown", "html", "text")  # kept in step with tagger.stream.digest.FORMATS
_AGE = re.compile(r"^(\d+)\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
SINCE_FORMS = "an age (12h, 1d, 2w), a date (2026-12-01) or an ISO time"  # --since, everywhere


def parse_since(raw: str, now: datetime | None = None) -> datetime:
    """``12h`` / ``1d`` / ``2w`` before now, a date (midnight UTC) or an ISO time (UTC unless
    it says otherwise); a usage error otherwise."""
    text = raw.strip()
    age = _AGE.match(text)
    if age:
        now = now or datetime.now(UTC)
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--since {raw!r}: expected {SINCE_FORMS}",
                           status=EXIT_USAGE) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "digest", help="the new papers per theme, best first, for a daily mail",
        description="The papers stored since --since, per theme, best first, with their "
        "scores and one evidence line each.")
    parser.add_argument("--themes", metavar="A,B", default=None,
                        help="comma-separated theme ids (default: every theme; tagger themes "
                        "lists them)")
    parser.add_argument("--since", metavar="WHEN", default="1d",
                        help=f"papers first stored since WHEN: {SINCE_FORMS} (default 1d)")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="markdown",
                        help="markdown (default), html (one self-contained page) or text")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write here (atomically) instead of stdout")
    parser.add_argument("--per-theme", type=int, default=25, metavar="N",
                        help="at most N papers per theme, the rest counted (default 25)")
    parser.add_argument("--base-url", metavar="URL", default=None,
                        help="where the API runs (https://tagger.example.org), to link each "
                        "theme's Atom feed")
    add_model_argument(parser)
    add_stream_arguments(parser, scoring=False)
    parser.set_defaults(handler=run)


def run(args) -> int:
    if args.per_theme < 1:
        raise CommandError("--per-theme must be at least 1", status=EXIT_USAGE)
    since = parse_since(args.since)
    from tagger.output import AtomicOutput, OutputError, check_output_path

    try:
        check_output_path(args.output)
    except OutputError as error:
        raise CommandError(str(error)) from None
    tagger = load_model_or_fail(args.model)
    known = tagger.taxonomy.ids
    themes = list(dict.fromkeys(t.strip() for t in args.themes.split(",") if t.strip())) \
        if args.themes else list(known)
    unknown = [t for t in themes if t not in known]
    if unknown or not themes:
        raise CommandError(f"--themes: unknown theme {unknown[0]!r} (tagger themes lists them)"
                           if unknown else "--themes: name at least one theme",
                           status=EXIT_USAGE)
    from tagger.stream.digest import build_digest, render
    from tagger.stream.store import StreamStore

    with store_errors():
        store = StreamStore.open(args.db)
        try:
            text = render(build_digest(store, tagger, themes, since, args.per_theme,
                                       args.base_url), args.fmt)
        finally:
            store.close()
    try:
        with AtomicOutput(args.output) as out:
            out.write(text)
    except OutputError as error:
        raise CommandError(str(error)) from None
    return EXIT_OK
