"""What a good input record is: the one set of rules shared by the file readers
(:mod:`tagger.corpus`), the bulk engines and the HTTP API schemas (:mod:`tagger.api.schemas`).

Having one module decide means a record the CLI accepts is a record the API accepts, with the
same message when it is refused (``abstract is null``, ``abstract is longer than ...``), and
the same limits: ``TAGGER_MAX_ABSTRACT_CHARS`` bounds the work one record can cause in bulk as
well as over HTTP. Each ``check_*`` function returns the reason a value is refused, or None.
Ids are strings everywhere: a number is refused (``"42"``, not ``42``) rather than coerced, so
an id is echoed back exactly as it was sent.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_ABSTRACT_CHARS = 20_000
MAX_TITLE_CHARS = 2_000
MAX_ID_CHARS = 512
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 1_000  # the feed carries MSC/ACM class lists up to ~150
ABSTRACT_ENV = "TAGGER_MAX_ABSTRACT_CHARS"
_HUGE = 1 << 62

_SURROGATE = re.compile("[\ud800-\udfff]")

# The same rules as regular expressions, for the OpenAPI document (``pattern``), so a client
# generated from it refuses what the checks below refuse. Written with escapes only (valid
# in Python, ECMA-262 and Rust's regex alike) and without nested repetition, so matching
# stays linear. Lone surrogates are left out: they are not Unicode scalar values, so no
# UTF-8 client can send one and Rust-based validators cannot even name them in a class (the
# descriptions say they are refused). WHITESPACE is exactly what ``str.strip()`` removes.
_NOT_TEXT = r"\x00"
WHITESPACE = (r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
              r"\u3000")
TEXT_PATTERN = rf"^[^{_NOT_TEXT}]*$"
"""Text without NUL characters (with no lone surrogate either, :func:`text_problem` is None)."""
NON_BLANK_TEXT_PATTERN = rf"^[{WHITESPACE}]*[^{_NOT_TEXT}{WHITESPACE}][^{_NOT_TEXT}]*$"
"""Such text with at least one character that is not whitespace (an abstract)."""
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class LimitError(ValueError):
    """A limit given in the environment or on the command line is not a positive integer."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on one record, in characters."""

    max_abstract_chars: int = MAX_ABSTRACT_CHARS
    max_title_chars: int = MAX_TITLE_CHARS
    max_id_chars: int = MAX_ID_CHARS

    @classmethod
    def unlimited(cls) -> Limits:
        """No length caps (training and evaluation files: every other rule still applies)."""
        return cls(max_abstract_chars=_HUGE, max_title_chars=_HUGE, max_id_chars=_HUGE)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Limits with ``TAGGER_MAX_ABSTRACT_CHARS`` applied (read when called, never at
        import, so a bad value is reported by the command that needs it)."""
        raw = (os.environ if environ is None else environ).get(ABSTRACT_ENV, "")
        if not raw:
            return cls()
        return cls(max_abstract_chars=positive_int(ABSTRACT_ENV, raw))


def positive_int(name: str, raw: object) -> int:
    """``raw`` as an integer >= 1, or :class:`LimitError` naming ``name``."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise LimitError(f"{name}={raw!r}: expected a positive integer") from None
    if value < 1:
        raise LimitError(f"{name}={raw!r}: expected a positive integer")
    return value


def text_problem(name: str, value: str) -> str | None:
    """NUL characters and lone surrogates (legal as JSON escapes, not in text) are refused."""
    if "\x00" in value:
        return f"{name} contains a NUL character"
    if not value.isascii() and _SURROGATE.search(value):  # isascii: O(1), no scan
        return f"{name} contains an unpaired surrogate (\\ud800-\\udfff)"
    return None


def _too_long(name: str, value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"{name} is longer than {limit:,} characters ({len(value):,})"
    return None


def check_abstract(value: object, limits: Limits) -> str | None:
    """Required, a non-blank string within the limit."""
    if value is None:
        return "abstract is null"
    if not isinstance(value, str):
        return f"abstract must be a string, not {_json_type(value)}"
    if not value.strip():
        return "abstract is empty"
    return text_problem("abstract", value) or _too_long(
        "abstract", value, limits.max_abstract_chars)


def check_title(value: object, limits: Limits) -> str | None:
    """Optional (null or absent means no title), a string within the limit."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"title must be a string, not {_json_type(value)}"
    return text_problem("title", value) or _too_long("title", value, limits.max_title_chars)


def check_id(value: object, limits: Limits) -> str | None:
    """Optional; a string (numbers are refused, not coerced: ids are echoed back verbatim)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"id must be a string, not {_json_type(value)}"
    return text_problem("id", value) or _too_long("id", value, limits.max_id_chars)


def check_month(value: object) -> str | None:
    """Optional; the arXiv feed's ``YYYY-MM``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        return f"month must be a string YYYY-MM, not {_short(value)}"
    return None


def parse_categories(value: object) -> tuple[str, ...] | str:
    """Optional arXiv categories: a list of strings, or one space-separated string (CSV).
    Returns the tuple, or the reason it is refused."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list = value.split()
    elif isinstance(value, list):
        items = value
    else:
        return f"categories must be a list of strings, not {_json_type(value)}"
    if len(items) > MAX_CATEGORIES:
        return f"categories has more than {MAX_CATEGORIES} entries ({len(items)})"
    for item in items:
        if not isinstance(item, str) or not item.strip():
            return "categories must be a list of non-empty strings"
        problem = text_problem("categories", item)
        if problem:
            return problem
        if len(item) > MAX_CATEGORY_CHARS:
            return f"a category is longer than {MAX_CATEGORY_CHARS} characters"
    return tuple(dict.fromkeys(item.strip() for item in items))


def check_categories(value: object) -> str | None:
    result = parse_categories(value)
    return result if isinstance(result, str) else None


def record_problem(fields: Mapping, limits: Limits) -> tuple[str, str] | None:
    """The first problem of a record as ``(field, reason)``, checking fields in a fixed order
    (abstract, title, id, month, categories); None for a good record. Tags are checked by the
    reader that needs them (training data)."""
    if "abstract" not in fields:
        return "abstract", "no 'abstract' field"
    checks = (
        ("abstract", lambda v: check_abstract(v, limits)),
        ("title", lambda v: check_title(v, limits)),
        ("id", lambda v: check_id(v, limits)),
        ("month", check_month),
        ("categories", check_categories),
    )
    for name, check in checks:
        problem = check(fields.get(name))
        if problem:
            return name, problem
    return None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ErrorDigest:
    """Reports skipped records without flooding: the first ``show`` messages as they come,
    then, at :meth:`finish`, one line per reason for the rest (a whole file of unlabelled
    records is one line, not thousands). Messages go through ``say`` (a progress bar may need
    to print them). Errors without a ``reason`` (a whole file unreadable) are always shown."""

    def __init__(self, say, show: int = 20):
        self.say = say
        self.show = show
        self.count = 0
        self.shown = 0
        self.hidden: dict[str, list] = {}  # reason -> [count, first location]

    def __call__(self, error) -> None:
        self.count += 1
        reason = getattr(error, "reason", None)
        if reason is None or self.shown < self.show:
            self.shown += 1
            self.say(str(error))
            return
        key = re.sub(r" \([\d,]+\)$", "", reason)
        entry = self.hidden.setdefault(key, [0, f"{error.source}:{error.line}"])
        entry[0] += 1

    def finish(self) -> None:
        """Print the per-reason counts of the messages not shown (nothing if all were)."""
        if not self.hidden:
            return
        hidden = sum(count for count, _ in self.hidden.values())
        self.say(f"... and {hidden:,} more skipped records not shown, by reason:")
        for reason, (count, first) in sorted(self.hidden.items(), key=lambda kv: -kv[1][0]):
            self.say(f"  {count:,} x {reason} (first at {first})")
        self.hidden = {}
