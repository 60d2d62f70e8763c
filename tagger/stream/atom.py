"""Atom 1.0 feeds of stream entries, generated with feedgen (which builds the document with
lxml, so escaping and well-formedness are the library's job, not string concatenation).

Each entry is one paper: its stable id (``urn:tagger:paper:ID``, the same for every version,
so a feed reader shows a new version as an update), the title, the abstract as the summary,
the arXiv page as the link when the id is an arXiv id, one ``category`` per theme it is shown
for (label and score), arXiv categories under arXiv's scheme, and an HTML content block with
each theme's score and evidence phrases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from tagger import __version__
from tagger.arxiv import abs_url
from tagger.stream.store import Entry
from tagger.taxonomy import Theme

THEME_SCHEME = "urn:tagger:theme"
ARXIV_SCHEME = "http://arxiv.org/schemas/atom"
# XML 1.0 has no place for these; an abstract may still carry one (a stray form feed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _clean(text: str) -> str:
    return _NOT_XML.sub(" ", text)


def entry_id(paper_id: str) -> str:
    return "urn:tagger:paper:" + quote(paper_id, safe=":/.-_")


def content_html(entry: Entry, themes: dict[str, Theme]) -> str:
    """Per shown theme, its score (or that a reviewer added it) and the evidence phrases;
    then the abstract."""
    parts = []
    for theme_id, score in entry.scores.items():
        label = themes[theme_id].label if theme_id in themes else theme_id
        shown = "added by a reviewer" if score is None else f"score {score:.2f}"
        if theme_id in entry.confirmed and score is not None:
            shown += ", confirmed by a reviewer"
        phrases = entry.evidence.get(theme_id) or []
        evidence = (" · evidence: " + ", ".join(f"<em>{escape(p)}</em>" for p in phrases)
                    if phrases else "")
        parts.append(f"<p><strong>{escape(label)}</strong> {shown}{evidence}</p>")
    parts.append(f"<p>{escape(entry.abstract)}</p>")
    return _clean("".join(parts))


def build_feed(entries: Sequence[Entry], themes: dict[str, Theme], title: str, feed_url: str,
               page_url: str, updated: datetime | None, subtitle: str) -> bytes:
    """The Atom document (UTF-8 bytes) with ``entries`` in the given order."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(feed_url)
    feed.title(title)
    feed.subtitle(subtitle)
    feed.link(href=feed_url, rel="self", type="application/atom+xml")
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.updated(updated or EPOCH)
    feed.author({"name": "tagger"})
    feed.generator("tagger", version=__version__)
    feed.language("en")
    for entry in entries:
        item = feed.add_entry(order="append")
        item.id(entry_id(entry.paper_id))
        item.title(_clean(entry.title or entry.paper_id))
        item.updated(entry.first_seen)
        if entry.date:
            item.published(datetime.fromisoformat(entry.date).replace(tzinfo=UTC))
        link = abs_url(entry.paper_id)
        if link:
            item.link(href=link, rel="alternate", type="text/html")
        item.summary(_clean(entry.abstract))
        item.content(content_html(entry, themes), type="html")
        for theme_id in entry.scores:
            label = themes[theme_id].label if theme_id in themes else theme_id
            item.category(term=theme_id, scheme=THEME_SCHEME,
                          label=f"{label} ({entry.score_text(theme_id)})")
        for category in entry.categories:
            item.category(term=_clean(category), scheme=ARXIV_SCHEME)
    return feed.atom_str(pretty=False)
