"""``/openapi.json``, ``/docs`` (the API reference rendered server-side from the same
document, plus interactive Swagger UI whose assets come from the ``swagger-ui-bundle`` PyPI
package, so nothing is fetched from the internet), ``/`` (the demo page) and the favicon.

The pages share one layout (``static/layout.css``, ``static/common.js``), inlined into each
page when it is served, so every page is one self-contained response.
"""

from __future__ import annotations

import json
import mimetypes
from functools import cache
from html import escape
from importlib import resources

from flask import Blueprint, Response, current_app

from tagger.api.context import review_of
from tagger.api.errors import ApiError
from tagger.api.openapi import build_spec
from tagger.api.views.common import current_tagger, json_response, settings

bp = Blueprint("docs", __name__)
SWAGGER_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js")


def _review_enabled() -> bool:
    return review_of(current_app).enabled


def _theme_ids() -> tuple[str, ...]:
    """The served model's theme ids (the feed routes' enum); the packaged taxonomy's while no
    model is loaded."""
    try:
        return tuple(current_tagger().taxonomy.ids)
    except ApiError:
        from tagger.taxonomy import load_taxonomy

        return tuple(load_taxonomy().ids)


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(_spec(settings(), _review_enabled(), _theme_ids()))


@cache
def _spec(config, review: bool, theme_ids: tuple[str, ...] = ()) -> dict:
    return build_spec(config, review=review, theme_ids=theme_ids)


@cache
def _static(name: str) -> str:
    return resources.files("tagger.api").joinpath(f"static/{name}").read_text(encoding="utf-8")


@cache
def render_page(name: str) -> str:
    """A page of ``static/`` with the shared layout inlined."""
    html = _static(name)
    html = html.replace('<link rel="stylesheet" href="/static/layout.css">',
                        f"<style>\n{_static('layout.css')}</style>")
    return html.replace('<script src="/static/common.js"></script>',
                        f"<script>\n{_static('common.js')}</script>")


@bp.get("/")
def demo() -> Response:
    html = render_page("demo.html")
    if not _review_enabled():
        html = html.replace('<a href="/review">Review</a>', "")
    return Response(html, mimetype="text/html")


@bp.get("/favicon.ico")
def favicon() -> Response:
    data = resources.files("tagger.api").joinpath("static/favicon.png").read_bytes()
    return Response(data, mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/docs/assets/<name>")
def swagger_asset(name: str) -> Response:
    if name not in SWAGGER_ASSETS:
        raise ApiError(404, "No such endpoint.")
    from swagger_ui_bundle import swagger_ui_path

    data = (swagger_ui_path / name).read_bytes()
    return Response(data, mimetype=mimetypes.guess_type(name)[0] or "text/plain",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/docs")
def docs() -> Response:
    return Response(_docs_html(settings(), _review_enabled(), _theme_ids()),
                    mimetype="text/html")


def _schema_html(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    kind = schema.get("type", "")
    return escape(str(kind)) if kind else "<code>any</code>"


_CONSTRAINTS = {
    "minLength": "at least {} characters", "maxLength": "at most {} characters",
    "minItems": "at least {} items", "maxItems": "at most {} items",
    "minimum": "at least {}", "maximum": "at most {}", "default": "default {}",
    "pattern": "matches <code>{}</code>", "enum": "one of {}", "example": "e.g. {}",
    "format": "format {}", "nullable": "may be null",
}


def _constraints(prop: dict) -> str:
    """Field constraints as words ("at most 5000 characters"), not a JSON blob."""
    notes = []
    for key, value in prop.items():
        if key in ("type", "description", "items", "$ref", "title", "additionalProperties",
                   "anyOf", "oneOf", "allOf"):
            continue
        if key == "nullable" and not value:
            continue
        template = _CONSTRAINTS.get(key, key + " {}")
        if key == "enum":
            value = ", ".join(f"<code>{escape(str(v))}</code>" for v in value)
        elif key != "pattern":
            value = escape(json.dumps(value) if isinstance(value, (dict, list)) else str(value))
        else:
            value = escape(str(value))
        notes.append(template.format(value))
    return "; ".join(notes)


def _field_type(prop: dict) -> str:
    if "$ref" in prop:
        return _schema_html(prop)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in prop:
            kinds = [_field_type(p) for p in prop[key] if p.get("type") != "object"
                     or "$ref" in p or not p.get("nullable")]
            nullable = any(p.get("nullable") for p in prop[key]) or prop.get("nullable")
            return " or ".join(kinds) + (" or null" if nullable else "")
    kind = prop.get("type", "")
    if kind == "array" and "items" in prop:
        return f"list of {_schema_html(prop['items'])}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"object of {_schema_html(prop['additionalProperties'])}"
    return escape(str(kind or "any"))


@cache
def _docs_html(config, review: bool, theme_ids: tuple[str, ...] = ()) -> str:
    spec = _spec(config, review, theme_ids)
    info = spec["info"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{escape(info['title'])} {escape(info['version'])} · docs</title>",
        f"<style>\n{_static('layout.css')}\n"
        "h2{border-bottom:1px solid #ddd;margin-top:2rem}"
        ".m{font-weight:bold;text-transform:uppercase;color:#06c}"
        ".tbl{overflow-x:auto;max-width:100%}"
        "table{border-collapse:collapse;width:100%;font-size:14px}"
        "td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}"
        "#swagger-ui{margin-top:1rem;overflow-x:hidden}"
        ".swagger-ui .wrapper{padding:0}.swagger-ui .information-container{display:none}"
        "</style>",
        "<link rel='stylesheet' href='/docs/assets/swagger-ui.css'></head><body>",
        "<header class='site'><a class='brand' href='/'>tagger</a><nav>"
        "<a href='/'>Try it</a>" + ("<a href='/review'>Review</a>" if review else "")
        + "<a href='/themes'>Themes</a><a href='/docs' aria-current='page'>API docs</a></nav>"
        "</header>",
        f"<main id='reference'><h1>{escape(info['title'])} <small class='muted'>"
        f"{escape(info['version'])}</small></h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Jump to "
        "<a href='#try'>try the API here</a> (interactive) or the <a href='#endpoints'>"
        "reference</a>.</p><h2 id='endpoints'>Endpoints</h2>",
    ]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            parts.append(f"<h3 id='{escape(op.get('operationId', path))}'><span class='m'>"
                         f"{escape(method)}</span> <code>{escape(path)}</code></h3>")
            parts.append(f"<p>{escape(op.get('summary', ''))}"
                         + (" <em>Needs a token.</em>" if op.get("security") else "") + "</p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append(f"<p>Request body: {_schema_html(body['schema'])}</p>")
            parts.append("<div class='tbl'><table><tr><th>Status</th><th>Meaning</th>"
                         "<th>Body</th></tr>")
            for status, response in op["responses"].items():
                content = response.get("content", {})
                media = next(iter(content.values()), {})
                schema = _schema_html(media["schema"]) if "schema" in media else ""
                parts.append(f"<tr><td>{escape(status)}</td>"
                             f"<td>{escape(response['description'])}</td><td>{schema}</td></tr>")
            parts.append("</table></div>")
    parts.append("<h2 id='schemas'>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        parts.append(f"<h3 id='schema-{escape(name)}'>{escape(name)}</h3>")
        required = set(schema.get("required", []))
        parts.append("<div class='tbl'><table><tr><th>Field</th><th>Type</th><th>Required</th>"
                     "<th>Description and limits</th></tr>")
        for field, prop in schema.get("properties", {}).items():
            notes = escape(prop.get("description", ""))
            limits = _constraints(prop)
            if limits:
                notes = f"{notes} ({limits})" if notes else limits
            parts.append(f"<tr><td><code>{escape(field)}</code></td><td>{_field_type(prop)}</td>"
                         f"<td>{'yes' if field in required else ''}</td><td>{notes}</td></tr>")
        parts.append("</table></div>")
    parts += [
        "</main><h2 id='try'>Try it</h2>",
        "<p class='muted'>Swagger UI, served by this server from the "
        "<code>swagger-ui-bundle</code> package; requests go to this server.</p>",
        "<div id='swagger-ui'><p class='muted'>Loading the interactive docs…</p></div>",
        "<script src='/docs/assets/swagger-ui-bundle.js'></script>",
        "<script>window.addEventListener('load', function () {"
        "if (!window.SwaggerUIBundle) return;"
        "window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui',"
        " deepLinking: false, validatorUrl: null, supportedSubmitMethods: ['get', 'post'],"
        " defaultModelsExpandDepth: 0});});</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
