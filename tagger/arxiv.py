"""arXiv's conventions, in one place: what an arXiv id looks like (and its one canonical
spelling, ``arxiv:2401.01234``), the link to a paper's page, the Kaggle arXiv-snapshot record
layout, and arXiv's Atom / RSS listing XML (a saved export-API answer or a daily listing).

Part of the core: the corpus readers call it, and so do the stream (ids, links) and the API.
Nothing here touches the network; a listing is a file someone saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import IO

# New-style ids (0704.0001 on) and old-style ones (hep-th/9901001), with an optional version.
_BARE = r"(?:\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_ID = re.compile(rf"^(?:arxiv:|oai:arxiv\.org:|https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/)?"
                 rf"({_BARE})(?:v\d+)?(?:\.pdf)?$", re.IGNORECASE)
PREFIX = "arxiv:"
ABS_URL = "https://arxiv.org/abs/"


def canonical_id(raw: str) -> str | None:
    """``arxiv:ID`` without its version for anything naming an arXiv paper (``2401.01234v2``,
    ``arXiv:2401.01234``, ``oai:arXiv.org:...``, an abs or pdf URL); None for other ids.
    One spelling is what lets a paper from a listing, the Kaggle snapshot and the feed files
    be stored once."""
    match = _ID.match(raw.strip())
    if match is None:
        return None
    bare = match.group(1)
    # Old-style archive names are lower case; keep the subject class (math.AG) as written.
    return PREFIX + bare


def abs_url(paper_id: str) -> str | None:
    """The paper's arXiv page when ``paper_id`` is an arXiv id, else None."""
    canonical = canonical_id(paper_id)
    return ABS_URL + canonical.removeprefix(PREFIX) if canonical else None


# --- the Kaggle arXiv snapshot (arxiv-metadata-oai-snapshot.json) --------------------------

def is_snapshot_record(fields: dict) -> bool:
    """The snapshot's layout: ``versions`` (a list of ``{"version", "created"}``) next to
    ``update_date``, plus authors, DOI and licence fields the reader ignores."""
    return isinstance(fields.get("versions"), list) and "update_date" in fields


def snapshot_fields(fields: dict) -> dict:
    """A snapshot record with ``date`` and ``month`` from its first version (when the paper
    was announced), unless the record names a month itself. The id, the categories (one
    space-separated string) and the other fields pass through unchanged."""
    date = _first_version_date(fields["versions"]) or _iso_date(fields.get("update_date"))
    out = dict(fields)
    if date:
        out["date"] = date
        out.setdefault("month", date[:7])
    return out


def _first_version_date(versions: list) -> str:
    for version in versions:
        if isinstance(version, dict) and isinstance(version.get("created"), str):
            try:
                return parsedate_to_datetime(version["created"]).date().isoformat()
            except (TypeError, ValueError):
                return ""
    return ""


def _iso_date(value: object) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip()
    return ""


# --- Atom / RSS listings ---------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_ENTRY_TAGS = (f"{ATOM}entry", "item", f"{RSS1}item")
# rss.arxiv.org puts "arXiv:2401.01234v1 Announce Type: new \nAbstract: " before the abstract
_ANNOUNCE = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.I)
# the old RSS 1.0 listing ends titles with "(arXiv:2401.01234v1 [cs.LG])"
_TITLE_SUFFIX = re.compile(r"\s*\(arXiv:[^)]*\)\s*$")


class ListingError(ValueError):
    """The XML itself is broken; ``line`` is where the parser stopped."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def read_listing(stream: IO[bytes]) -> Iterator[tuple[int, dict]]:
    """``(line, fields)`` for every entry of an arXiv Atom feed (the export API, or
    rss.arxiv.org's Atom listing) or RSS item (RSS 2.0 or the older RSS 1.0 listing), in
    document order, streaming (each entry is freed once read). ``fields`` has ``id``
    (canonical), ``title``, ``abstract``, ``categories``, ``date`` and ``month``; an entry
    without an abstract has none, so the record rules report it. Broken XML raises
    :class:`ListingError` after the entries before it were yielded.

    Parsed with lxml, entities unresolved and no network access, so a hostile file can
    neither expand nor fetch anything."""
    from lxml import etree

    parser = etree.iterparse(stream, events=("end",), tag=_ENTRY_TAGS, resolve_entities=False,
                             no_network=True, remove_comments=True, huge_tree=False)
    try:
        for _, element in parser:
            yield element.sourceline or 0, _entry_fields(element)
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        line = error.lineno or 0
        raise ListingError(line, f"not valid XML ({error.msg})") from None


def _entry_fields(entry) -> dict:
    atom = entry.tag.startswith(ATOM)
    ns = ATOM if atom else (RSS1 if entry.tag.startswith(RSS1) else "")

    def text(name: str) -> str | None:
        found = entry.find(ns + name)
        return None if found is None else "".join(found.itertext())

    raw_id = (text("id") if atom else text("guid")) or text("link") or entry.get(_RDF_ABOUT)
    abstract = text("summary") if atom else text("description")
    if abstract is not None:
        abstract = _ANNOUNCE.sub("", _strip_html(abstract) if not atom else abstract)
    title = _TITLE_SUFFIX.sub("", text("title") or "")
    if atom:
        categories = [c.get("term") for c in entry.iter(f"{ATOM}category") if c.get("term")]
    else:
        categories = [c.text.strip() for c in entry.iter(f"{ns}category", "category")
                      if c.text and c.text.strip()]
    date = _listing_date(text("published") or text("updated") or text("pubDate")
                         or _dc_date(entry))
    fields: dict = {"title": title, "categories": categories}
    if abstract is not None:
        fields["abstract"] = abstract
    if raw_id:
        fields["id"] = canonical_id(raw_id) or raw_id.strip()
    if date:
        fields["date"] = date
        fields["month"] = date[:7]
    return fields


def _dc_date(entry) -> str | None:
    found = entry.find("{http://purl.org/dc/elements/1.1/}date")
    return found.text if found is not None else None


def _strip_html(text: str) -> str:
    """RSS descriptions hold escaped HTML (``<p>...</p>``); keep the text only."""
    if "<" not in text:
        return text
    from lxml import html

    try:
        return html.fromstring(text).text_content()
    except (ValueError, TypeError):  # lxml.etree.ParserError is a ValueError
        return text


def _listing_date(value: str | None) -> str:
    """``YYYY-MM-DD`` from an Atom timestamp (RFC 3339) or an RSS ``pubDate`` (RFC 822)."""
    if not value:
        return ""
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return _iso_date(value[:10])
