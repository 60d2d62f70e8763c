"""Per-theme Atom feeds of the paper stream and the pages that list them:

* ``GET /v1/themes/{theme}/feed.atom``, ``GET /v1/feed.atom?themes=a,b``: the newest ``n``
  papers tagged with the theme(s) at ``min_score`` or more, reviewers' corrections applied;
  ``ETag`` / ``Last-Modified`` from the stream's change counter and the newest review
  decision, so a conditional GET is answered 304 before any paper is read;
* ``GET /themes``: every theme with its paper counts for the last two weeks and its feed;
* ``GET /themes/{theme}``: the newest papers of one theme.

The database is the label store's (``TAGGER_DB``), opened once per worker process by the
review settings; the served model names the themes and explains the papers shown. Nothing
here imports the application module: per-app state comes through ``current_app``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from html import escape

from flask import Blueprint, Response, request
from marshmallow import Schema, fields, validate

from tagger.api.errors import ApiError
from tagger.api.schemas import DEFAULT_FEED_ENTRIES as DEFAULT_ENTRIES
from tagger.api.schemas import MAX_FEED_ENTRIES as MAX_ENTRIES
from tagger.api.views.common import current_tagger, load
from tagger.api.views.docs import render_page
from tagger.api.views.reviewers import review_settings
from tagger.arxiv import abs_url
from tagger.stream.store import TAGGED, Entry, StreamStore
from tagger.tagging import Tagger

bp = Blueprint("feeds", __name__)

PAGE_ENTRIES = 50
CACHE_CONTROL = "public, max-age=300"  # feed readers poll; papers arrive once a day
ATOM = "application/atom+xml; charset=utf-8"


class FeedQuerySchema(Schema):
    """The query of both feed routes (``themes`` only on ``/v1/feed.atom``)."""

    n = fields.Integer(load_default=DEFAULT_ENTRIES, strict=False,
                       validate=validate.Range(min=1, max=MAX_ENTRIES),
                       metadata={"description": "How many papers, newest first."})
    min_score = fields.Float(load_default=TAGGED, allow_nan=False,
                             validate=validate.Range(min=0.0, max=1.0),
                             metadata={"description": "Lowest score shown. Scores below 0.1 "
                                       "are not stored, so a lower value acts as 0.1; 0.5 is "
                                       "the decision point (tagged)."})


_QUERY = FeedQuerySchema()


def _store() -> StreamStore:
    return StreamStore(review_settings().store().engine)


def _known(tagger: Tagger, theme: str) -> None:
    if theme not in tagger.taxonomy.ids:
        raise ApiError(404, f"No theme {theme!r}. GET /v1/themes lists them.",
                       details={"theme": theme})


def _query_args() -> dict:
    args = {k: request.args[k] for k in ("n", "min_score") if k in request.args}
    return load(_QUERY, args)


def _themes_arg(tagger: Tagger) -> list[str]:
    raw = request.args.get("themes")
    if raw is None:
        return list(tagger.taxonomy.ids)
    themes = list(dict.fromkeys(t for t in raw.split(",")))
    unknown = [t for t in themes if t not in tagger.taxonomy.ids]
    if unknown:
        raise ApiError(422, "The request does not match the schema.",
                       details={"themes": [f"Unknown theme {t!r}." for t in unknown]})
    return themes


def _feed(themes: list[str], title: str, page_path: str) -> Response:
    tagger = current_tagger()
    args = _query_args()
    store = _store()
    with store.reading():
        return _feed_from(store, tagger, args, themes, title, page_path)


def _feed_from(store: StreamStore, tagger: Tagger, args: dict, themes: list[str], title: str,
               page_path: str) -> Response:
    state = store.state()
    key = (f"{state.generation}:{state.decision_seq}:{tagger.name}:{tagger.version}:"
           f"{','.join(themes)}:{args['n']}:{args['min_score']!r}")
    etag = hashlib.sha1(key.encode()).hexdigest()[:24]
    modified = state.last_modified.replace(microsecond=0) if state.last_modified else None
    response = Response(status=304)
    if _not_modified(etag, modified):
        return _validators(response, etag, modified)
    from tagger.stream.atom import build_feed
    from tagger.stream.evidence import add_evidence

    entries = store.entries(themes, args["min_score"], limit=args["n"])
    add_evidence(store, tagger, entries)
    root = request.host_url.rstrip("/")
    labels = {t.id: t for t in tagger.taxonomy.themes}
    body = build_feed(entries, labels, title, request.url, root + page_path, modified,
                      f"The newest {args['n']} papers scoring at least "
                      f"{max(args['min_score'], 0.1):g}, tagged by {tagger.name} "
                      f"{tagger.version}, corrected by reviewers.")
    return _validators(Response(body, content_type=ATOM), etag, modified)


def _not_modified(etag: str, modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match decides when present; If-Modified-Since only without it."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return bool(since and modified and modified <= since)


def _validators(response: Response, etag: str, modified: datetime | None) -> Response:
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Accept-Encoding")
    return response


@bp.get("/v1/themes/<theme>/feed.atom")
def theme_feed(theme: str) -> Response:
    tagger = current_tagger()
    _known(tagger, theme)
    label = tagger.taxonomy.themes[tagger.taxonomy.index(theme)].label
    return _feed([theme], f"{label}: new papers (tagger)", f"/themes/{theme}")


@bp.get("/v1/feed.atom")
def themes_feed() -> Response:
    tagger = current_tagger()
    themes = _themes_arg(tagger)
    labels = {t.id: t.label for t in tagger.taxonomy.themes}
    title = ("All themes" if len(themes) == len(labels)
             else ", ".join(labels[t] for t in themes))
    return _feed(themes, f"{title}: new papers (tagger)", "/themes")


# --- pages -------------------------------------------------------------------------------

def _page(title: str, main: str, feed: str | None = None) -> Response:
    html = render_page("themes.html").replace("{{title}}", escape(title))
    link = (f'<link rel="alternate" type="application/atom+xml" title="{escape(title)}" '
            f'href="{escape(feed)}">' if feed else "")
    html = html.replace("<!--feed-->", link).replace("<!--main-->", main)
    return Response(html, mimetype="text/html")


@bp.get("/themes")
def themes_page() -> Response:
    tagger = current_tagger()
    now = datetime.now(UTC)
    windows = [now - timedelta(days=14), now - timedelta(days=7)]
    counts = _store().theme_counts(tagger.taxonomy.ids, windows)
    rows = []
    for theme in tagger.taxonomy.themes:
        last_week, this_week = counts[theme.id]
        feed = f"/v1/themes/{theme.id}/feed.atom"
        rows.append(
            f'<tr data-theme="{escape(theme.id)}"><td><a href="/themes/{escape(theme.id)}">'
            f'{escape(theme.label)}</a><div class="muted">{escape(theme.description)}</div>'
            f'</td><td class="num">{this_week}</td><td class="num">{last_week}</td>'
            f'<td><a class="feed" href="{feed}">Atom</a></td></tr>')
    main = ("<h1>Follow a theme</h1><p>Papers tagged with each theme, first stored in the last "
            "7 days and the 7 days before; subscribe to a theme's Atom feed in any feed "
            'reader, or to <a href="/v1/feed.atom">all themes</a>.</p>'
            '<div class="tbl"><table id="themes"><thead><tr><th>Theme</th>'
            '<th class="num">This week</th><th class="num">Last week</th><th>Feed</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>")
    return _page("Themes", main, "/v1/feed.atom")


@bp.get("/themes/<theme>")
def theme_page(theme: str) -> Response:
    tagger = current_tagger()
    _known(tagger, theme)
    from tagger.stream.evidence import add_evidence

    label = tagger.taxonomy.themes[tagger.taxonomy.index(theme)].label
    store = _store()
    with store.reading():
        entries = store.entries([theme], TAGGED, limit=PAGE_ENTRIES)
        add_evidence(store, tagger, entries)
    feed = f"/v1/themes/{theme}/feed.atom"
    items = "".join(_paper_html(entry, theme) for entry in entries) or (
        '<p class="none">No papers tagged with this theme yet.</p>')
    main = (f'<h1>{escape(label)}</h1><p><a href="/themes">All themes</a> · '
            f'<a class="feed" href="{feed}">Atom feed</a> · the newest {PAGE_ENTRIES} '
            f'papers, newest first</p><ol id="papers">{items}</ol>')
    return _page(label, main, feed)


def _paper_html(entry: Entry, theme: str) -> str:
    title = escape(entry.title or entry.paper_id)
    link = abs_url(entry.paper_id)
    heading = f'<a href="{escape(link)}">{title}</a>' if link else title
    phrases = entry.evidence.get(theme) or []
    marked = ", ".join(f"<mark>{escape(p)}</mark>" for p in phrases)
    evidence = f'<div class="ev">evidence: {marked}</div>' if phrases else ""
    return (f'<li data-id="{escape(entry.paper_id)}"><div class="ptitle">{heading}</div>'
            f'<div class="muted"><span class="score">{entry.score_text(theme)}</span> '
            f"{escape(entry.paper_id)}"
            f" · {escape(entry.when)}</div>{evidence}<details><summary>Abstract</summary>"
            f"<p>{escape(entry.abstract)}</p></details></li>")
