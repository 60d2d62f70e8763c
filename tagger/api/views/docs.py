"""``/openapi.json``, ``/docs`` (the same document as readable HTML, rendered server-side so
it needs no internet and no JavaScript) and ``/`` (the demo page)."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib import resources

from flask import Blueprint, Response

from tagger.api.openapi import build_spec
from tagger.api.views.common import json_response, settings

bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(_spec(settings()))


@cache
def _spec(config) -> dict:
    return build_spec(config)


@bp.get("/docs")
def docs() -> Response:
    return Response(_docs_html(settings()), mimetype="text/html")


@bp.get("/")
def demo() -> Response:
    return Response(_demo_html(), mimetype="text/html")


@cache
def _demo_html() -> str:
    return resources.files("tagger.api").joinpath("static/demo.html").read_text(encoding="utf-8")


def _schema_html(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    return f"<code>{escape(json.dumps(schema))}</code>"


@cache
def _docs_html(config) -> str:
    spec = _spec(config)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(spec['info']['title'])} {escape(spec['info']['version'])}</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}h2{border-bottom:1px solid #ddd}code,pre{background:#f5f5f5;"
        "padding:0 .2em}table{border-collapse:collapse}td,th{border:1px solid #ddd;"
        "padding:.2em .5em;text-align:left;vertical-align:top}.m{font-weight:bold;"
        "text-transform:uppercase;color:#06c}</style></head><body>",
        f"<h1>{escape(spec['info']['title'])} <small>{escape(spec['info']['version'])}"
        "</small></h1>",
        f"<p>{escape(spec['info'].get('description', ''))}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
        "Try it: <a href='/'>demo page</a>.</p><h2>Endpoints</h2>",
    ]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            parts.append(f"<h3 id='{escape(op.get('operationId', path))}'><span class='m'>"
                         f"{escape(method)}</span> <code>{escape(path)}</code></h3>")
            parts.append(f"<p>{escape(op.get('summary', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append(f"<p>Request body: {_schema_html(body['schema'])}</p>")
            parts.append("<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>")
            for status, response in op["responses"].items():
                content = response.get("content", {})
                media = next(iter(content.values()), {})
                schema = _schema_html(media["schema"]) if "schema" in media else ""
                parts.append(f"<tr><td>{escape(status)}</td>"
                             f"<td>{escape(response['description'])}</td><td>{schema}</td></tr>")
            parts.append("</table>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        parts.append(f"<h3 id='schema-{escape(name)}'>{escape(name)}</h3>")
        required = set(schema.get("required", []))
        parts.append("<table><tr><th>Field</th><th>Type</th><th>Required</th>"
                     "<th>Description / constraints</th></tr>")
        for field, prop in schema.get("properties", {}).items():
            kind = prop.get("type", "")
            if "$ref" in prop:
                kind = _schema_html(prop)
            elif kind == "array" and "items" in prop:
                kind = f"array of {_schema_html(prop['items'])}"
            else:
                kind = escape(str(kind))
            constraints = {k: v for k, v in prop.items()
                           if k not in ("type", "description", "items", "$ref")}
            notes = escape(prop.get("description", ""))
            if constraints:
                notes += f" <code>{escape(json.dumps(constraints))}</code>"
            parts.append(f"<tr><td><code>{escape(field)}</code></td><td>{kind}</td>"
                         f"<td>{'yes' if field in required else ''}</td><td>{notes}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
