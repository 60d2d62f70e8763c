"""The daily digest: per theme, the papers first stored since a time, best first, each with
its score and one evidence line, as plain text, Markdown or one self-contained HTML page
(inline CSS, readable on a phone, valid HTML5), ready for a cron job to mail.

The output depends only on the store and the arguments (no clock is printed unless it is in
``since``), so the same store gives the same digest byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from tagger.arxiv import abs_url
from tagger.stream.evidence import add_evidence
from tagger.stream.store import TAGGED, Entry, StreamStore
from tagger.tagging import Tagger
from tagger.taxonomy import Theme

FORMATS = ("text", "markdown", "html")


@dataclass
class Section:
    theme: Theme
    entries: list[Entry]
    more: int  # papers left out by the per-theme limit


@dataclass
class Digest:
    since: datetime
    sections: list[Section]
    base_url: str | None = None  # where the API serves the theme feeds, for links

    @property
    def total(self) -> int:
        return len({e.pk for s in self.sections for e in s.entries})

    def feed_url(self, theme_id: str) -> str | None:
        if not self.base_url:
            return None
        return f"{self.base_url.rstrip('/')}/v1/themes/{theme_id}/feed.atom"


def rank(entry: Entry, theme: str) -> tuple[float, int]:
    """Best first: a reviewer's confirmation counts as certain, then newer first."""
    score = entry.scores.get(theme)
    return (-(1.0 if score is None else score), -entry.pk)


def build_digest(store: StreamStore, tagger: Tagger, themes: list[str], since: datetime,
                 per_theme: int = 25, base_url: str | None = None) -> Digest:
    """The papers first seen since ``since`` tagged with each theme (score at least 0.5 after
    reviewers' corrections), best first, at most ``per_theme`` each, with evidence."""
    by_id = {t.id: t for t in tagger.taxonomy.themes}
    sections = []
    for theme_id in themes:
        found = sorted(store.entries([theme_id], TAGGED, since=since),
                       key=lambda e, t=theme_id: rank(e, t))
        sections.append(Section(by_id[theme_id], found[:per_theme],
                                max(len(found) - per_theme, 0)))
    add_evidence(store, tagger, [e for s in sections for e in s.entries])
    return Digest(since, sections, base_url)


def score_text(entry: Entry, theme: str) -> str:
    confirmed = theme in entry.confirmed and entry.scores.get(theme) is not None
    return entry.score_text(theme) + (" (confirmed)" if confirmed else "")


def _tail(digest: Digest, section: Section, more: str, feed: str) -> list[str]:
    """A section's closing lines: how many papers the limit left out, the theme's feed."""
    url = digest.feed_url(section.theme.id)
    return ([more.format(section.more)] if section.more else []) + (
        [feed.format(url)] if url else [])


def _since(digest: Digest) -> str:
    return digest.since.strftime("%Y-%m-%d %H:%M UTC")


def _count(n: int) -> str:
    return f"{n} new paper{'s' if n != 1 else ''}"


def render(digest: Digest, fmt: str) -> str:
    return {"text": render_text, "markdown": render_markdown, "html": render_html}[fmt](digest)


def render_text(digest: Digest) -> str:
    lines = [f"tagger digest: {_count(digest.total)} since {_since(digest)}", ""]
    for section in digest.sections:
        lines.append(f"{section.theme.label}: {_count(len(section.entries) + section.more)}")
        for entry in section.entries:
            theme = section.theme.id
            lines.append(f"  {score_text(entry, theme):>5}  {entry.title or entry.paper_id}")
            lines.append(f"         {abs_url(entry.paper_id) or entry.paper_id}  ({entry.when})")
            if entry.evidence.get(theme):
                lines.append(f"         evidence: {', '.join(entry.evidence[theme])}")
        lines += [*_tail(digest, section, "  ... and {} more", "  feed: {}"), ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Markdown-inert text: the characters that would start emphasis, links or HTML."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def render_markdown(digest: Digest) -> str:
    lines = [f"# New papers since {_since(digest)}", "",
             f"{_count(digest.total)} in {len(digest.sections)} themes.", ""]
    for section in digest.sections:
        lines += [f"## {_md(section.theme.label)} ({len(section.entries) + section.more})", ""]
        if not section.entries:
            lines += ["No new papers.", ""]
        for number, entry in enumerate(section.entries, 1):
            theme = section.theme.id
            title = _md(entry.title or entry.paper_id)
            link = abs_url(entry.paper_id)
            title = f"[{title}]({link})" if link else title
            lines.append(f"{number}. **{title}** · score {score_text(entry, theme)} · "
                         f"{entry.when}  ")
            phrases = entry.evidence.get(theme)
            lines.append("   evidence: " + ", ".join(f"*{_md(p)}*" for p in phrases)
                         if phrases else f"   {_md(entry.paper_id)}")
        lines += [*_tail(digest, section, "\n... and {} more.", "\nFeed: <{}>"), ""]
    return "\n".join(lines)


_CSS = """
body { margin: 0; padding: 12px; background: #f4f4f4; color: #222;
       font: 16px/1.45 -apple-system, system-ui, "Segoe UI", sans-serif; }
main { max-width: 40rem; margin: 0 auto; background: #fff; border-radius: 8px;
       padding: 12px 16px; overflow-wrap: anywhere; }
h1 { font-size: 20px; margin: 4px 0 2px; }
h2 { font-size: 17px; margin: 20px 0 6px; padding-bottom: 3px; border-bottom: 2px solid #1f77b4; }
h2 .n { color: #666; font-weight: normal; font-size: 14px; }
ol { margin: 0; padding: 0; list-style: none; }
li { padding: 8px 0; border-bottom: 1px solid #eee; }
li:last-child { border-bottom: 0; }
a.t { color: #0b57d0; font-weight: 600; text-decoration: none; }
.meta { font-size: 13px; color: #555; margin-top: 2px; }
.score { display: inline-block; min-width: 2.6em; padding: 0 6px; border-radius: 9px;
         background: #1f77b4; color: #fff; font-size: 12px; font-weight: 600;
         text-align: center; font-variant-numeric: tabular-nums; }
.ev { font-size: 14px; color: #333; margin-top: 3px; }
.ev i { background: #fff3bf; font-style: normal; padding: 0 2px; border-radius: 3px; }
.muted { color: #666; font-size: 13px; }
"""


def render_html(digest: Digest) -> str:
    title = f"New papers since {_since(digest)}"
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>",
             "<body>", "<main>", f"<h1>{escape(title)}</h1>",
             f'<p class="muted">{_count(digest.total)} in {len(digest.sections)} themes, '
             "best first.</p>"]
    for section in digest.sections:
        theme = section.theme.id
        parts.append(f'<h2 id="{escape(theme)}">{escape(section.theme.label)} '
                     f'<span class="n">{len(section.entries) + section.more}</span></h2>')
        if not section.entries:
            parts.append('<p class="muted">No new papers.</p>')
            continue
        parts.append("<ol>")
        for entry in section.entries:
            link = abs_url(entry.paper_id)
            name = escape(entry.title or entry.paper_id)
            heading = f'<a class="t" href="{escape(link)}">{name}</a>' if link else (
                f'<span class="t">{name}</span>')
            phrases = entry.evidence.get(theme) or []
            evidence = ("".join(f"<i>{escape(p)}</i>, " for p in phrases).removesuffix(", ")
                        if phrases else "")
            parts.append(
                f"<li>{heading}"
                f'<div class="meta"><span class="score">{escape(score_text(entry, theme))}'
                f"</span> {escape(entry.paper_id)} · {escape(entry.when)}</div>"
                + (f'<div class="ev">{evidence}</div>' if evidence else "") + "</li>")
        parts.append("</ol>")
        url = escape(digest.feed_url(theme) or "")
        parts += _tail(digest, section, '<p class="muted">… and {} more.</p>',
                       f'<p class="muted">Feed: <a href="{url}">{url}</a></p>')
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)
