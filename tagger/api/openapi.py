"""The OpenAPI 3 document, generated from the marshmallow schemas with apispec (the limits
shown are this app's configured ones).

The document is the contract: every rule the server enforces on a request is in it (lengths,
text patterns from :mod:`tagger.records`, theme ids as an enum from the loaded model's
taxonomy), so a client generated from it never sends a request it calls valid and the server
refuses. ``tests/api/test_contract.py`` holds the two to that with schemathesis."""

from __future__ import annotations

from collections.abc import Sequence

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from tagger import __version__
from tagger.api import schemas
from tagger.api.config import ApiConfig
from tagger.api.schemas import DECISIONS, MAX_DECISIONS
from tagger.review.strategies import DEFAULT_STRATEGY, STRATEGIES


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": "Error"}}}


def _json(schema: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def build_spec(config: ApiConfig, review: bool = False,
               theme_ids: Sequence[str] = ()) -> dict:
    """The document lists only the routes this configuration enables: the admin route
    needs ``TAGGER_ADMIN_TOKEN``, the review routes reviewer tokens (``review``).
    ``theme_ids`` (the served model's taxonomy) become the enum of the feedback lists and of
    the feed routes' theme parameters."""
    spec = APISpec(
        title="tagger API",
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Tag research-paper abstracts with themes. Every error is a "
              "JSON object whose error member holds status, code, message and details; every "
              "response carries an X-Request-ID header."},
    )
    limits = {"max_abstract_chars": config.max_abstract_chars,
              "max_title_chars": config.max_title_chars}
    components = {
        "TagRequest": schemas.TagRequestSchema(**limits),
        "TagBatchRequest": schemas.TagBatchRequestSchema(max_batch=config.max_batch, **limits),
        "TagResponse": schemas.TagResponseSchema,
        "TagBatchResponse": schemas.TagBatchResponseSchema,
        "ThemesResponse": schemas.ThemesResponseSchema,
        "ModelResponse": schemas.ModelResponseSchema,
        "Health": schemas.HealthSchema,
        "ReloadResponse": schemas.ReloadResponseSchema,
        "Error": schemas.ErrorSchema,
    }
    for name, schema in components.items():
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("adminToken", {"type": "http", "scheme": "bearer"})

    body_errors = {
        "400": _error("Malformed JSON or a body that is not UTF-8"),
        "413": _error(f"Body over {config.max_body_bytes} bytes"),
        "415": _error("Content-Type is not application/json"),
        "422": _error("The body does not match the schema"),
        "503": _error("No model loaded"),
    }
    spec.path("/v1/tag", operations={"post": {
        "summary": "Tag one abstract",
        "operationId": "tag",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": "TagRequest"}}},
        "responses": {"200": _json("TagResponse", "Tags, best first"), **body_errors},
    }})
    spec.path("/v1/tag/batch", operations={"post": {
        "summary": f"Tag 1 to {config.max_batch} abstracts, scored together, in order",
        "operationId": "tagBatch",
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": "TagBatchRequest"}}},
        "responses": {"200": _json("TagBatchResponse", "One result per document, in order"),
                      **body_errors},
    }})
    spec.path("/v1/themes", operations={"get": {
        "summary": "The taxonomy the model was trained with", "operationId": "themes",
        "responses": {"200": _json("ThemesResponse"), "503": _error("No model loaded")}}})
    spec.path("/v1/model", operations={"get": {
        "summary": "The model manifest: version, training data, cross-validated metrics",
        "operationId": "model",
        "responses": {"200": _json("ModelResponse"), "503": _error("No model loaded")}}})
    spec.path("/healthz", operations={"get": {
        "summary": "Liveness: the process answers", "operationId": "healthz",
        "responses": {"200": _json("Health")}}})
    spec.path("/readyz", operations={"get": {
        "summary": "Readiness: a model is loaded", "operationId": "readyz",
        "responses": {"200": _json("Health"), "503": _error("No model loaded")}}})
    spec.path("/metrics", operations={"get": {
        "summary": "Prometheus metrics (text exposition format)", "operationId": "metrics",
        "responses": {"200": {"description": "Prometheus text",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}}}})
    _feed_paths(spec, tuple(theme_ids))
    if config.admin_token:
        _admin_paths(spec)
    if review:
        _review_paths(spec, body_errors)
    document = spec.to_dict()
    if review:
        add_feedback_rules(document["components"]["schemas"]["FeedbackRequest"],
                           list(theme_ids))
    return document


def add_feedback_rules(schema: dict, theme_ids: list[str]) -> None:
    """Add to the ``FeedbackRequest`` object what ``FeedbackRequestSchema._decisions`` and
    the view's unknown-theme check enforce: every list names known themes, once, and at
    least one list is non-empty. The lists' sizes keep a request under the decision cap. A
    theme in two lists is answered 409 (documented there): saying it here takes a ``not``
    per theme, which OpenAPI 3.0 tools (schemathesis among them) cannot generate from."""
    cap = len(theme_ids) or MAX_DECISIONS // len(DECISIONS)
    for key in DECISIONS:
        lists = schema["properties"][key]
        lists["items"] = {"type": "string", "minLength": 1,
                          **({"enum": theme_ids} if theme_ids else {})}
        lists.update(uniqueItems=True, maxItems=cap)
    schema["anyOf"] = [{"required": [key], "properties": {key: {"minItems": 1}}}
                       for key in DECISIONS]


def _feed_paths(spec: APISpec, theme_ids: tuple[str, ...]) -> None:
    """The paper stream's Atom feeds and theme pages (tagger.api.views.feeds)."""
    from tagger.stream.store import TAGGED

    theme = {"type": "string", **({"enum": list(theme_ids)} if theme_ids else {})}
    query = [
        {"name": "n", "in": "query", "required": False,
         "description": "How many papers, newest first.",
         "schema": {"type": "integer", "minimum": 1, "maximum": schemas.MAX_FEED_ENTRIES,
                    "default": schemas.DEFAULT_FEED_ENTRIES}},
        {"name": "min_score", "in": "query", "required": False,
         "description": "Lowest score shown (0.5 is the decision point). Scores below 0.1 "
                        "are not stored, so a lower value acts as 0.1. Papers a reviewer "
                        "accepted or added are shown whatever their score, papers a reviewer "
                        "rejected for a theme never.",
         "schema": {"type": "number", "minimum": 0, "maximum": 1, "default": TAGGED}},
        {"name": "If-None-Match", "in": "header", "required": False,
         "description": "An ETag from an earlier answer: 304 when the feed is unchanged.",
         "schema": {"type": "string"}},
    ]
    atom = {"description": "An Atom 1.0 feed (ETag, Last-Modified, Cache-Control)",
            "content": {"application/atom+xml": {"schema": {"type": "string"}}}}
    unchanged = {"description": "Not modified since the If-None-Match / If-Modified-Since "
                                "given (no body)"}
    errors = {"422": _error("n or min_score out of range, or an unknown theme in themes"),
              "503": _error("No model loaded, or the database is not available")}
    spec.path("/v1/themes/{theme}/feed.atom", operations={"get": {
        "summary": "Atom feed of one theme: its newest papers with scores and evidence",
        "operationId": "themeFeed",
        "parameters": [{"name": "theme", "in": "path", "required": True, "schema": theme},
                       *query],
        "responses": {"200": atom, "304": unchanged, "404": _error("No such theme"),
                      **errors}}})
    spec.path("/v1/feed.atom", operations={"get": {
        "summary": "Atom feed of several themes (default: all), newest papers first",
        "operationId": "feed",
        "parameters": [{"name": "themes", "in": "query", "required": False,
                        "style": "form", "explode": False,
                        "description": "Comma-separated theme ids (default: every theme).",
                        "schema": {"type": "array", "minItems": 1, "items": theme}},
                       *query],
        "responses": {"200": atom, "304": unchanged, **errors}}})
    page = {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    spec.path("/themes", operations={"get": {
        "summary": "Page: every theme with its papers this week and last week, and its feed",
        "operationId": "themesPage", "responses": {"200": page, "503": errors["503"]}}})
    spec.path("/themes/{theme}", operations={"get": {
        "summary": "Page: the newest papers of one theme",
        "operationId": "themePage",
        "parameters": [{"name": "theme", "in": "path", "required": True, "schema": theme}],
        "responses": {"200": page, "404": _error("No such theme"), "503": errors["503"]}}})


def _admin_paths(spec: APISpec) -> None:
    spec.path("/v1/admin/reload", operations={"post": {
        "summary": "Reload and verify the model from TAGGER_MODEL in every worker",
        "operationId": "reload",
        "security": [{"adminToken": []}],
        "responses": {
            "200": _json("ReloadResponse", "Swapped in"),
            "401": _error("Missing or wrong token"),
            "404": _error("Admin endpoints disabled (no TAGGER_ADMIN_TOKEN)"),
            "409": _error("The model failed verification; the old model keeps serving"),
        }}})


def _review_paths(spec: APISpec, body_errors: dict) -> None:
    for name, schema in {"FeedbackRequest": schemas.FeedbackRequestSchema,
                         "FeedbackResponse": schemas.FeedbackResponseSchema,
                         "LabelRecord": schemas.LabelRecordSchema}.items():
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("reviewerToken", {
        "type": "http", "scheme": "bearer",
        "description": "A reviewer token from TAGGER_REVIEW_TOKENS or "
                       "TAGGER_REVIEW_TOKENS_FILE."})
    auth = {"401": _error("Missing or unknown reviewer token"),
            "404": _error("Reviewing disabled (no reviewer tokens configured)")}
    spec.path("/v1/feedback", operations={"post": {
        "summary": "Store a paper and a reviewer's accept / reject / add decisions",
        "operationId": "feedback",
        "security": [{"reviewerToken": []}],
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": "FeedbackRequest"}}},
        "responses": {"201": _json("FeedbackResponse", "Stored; the paper's current labels"),
                      **auth, **body_errors,
                      "409": _error("A theme named in two of accept, reject and add (code "
                                    "conflicting_decisions), or a paper the store does not "
                                    "have sent without its abstract (code paper_not_stored)"),
                      "422": _error("The body does not match the schema, or names a theme "
                                    "the model does not know (code unknown_theme)")},
    }})
    spec.path("/v1/labels/export", operations={"get": {
        "summary": "The current reviewed labels, one JSON object a line (streamed)",
        "operationId": "exportLabels",
        "security": [{"reviewerToken": []}],
        "responses": {"200": {"description": "JSON Lines: one LabelRecord a line",
                              "content": {"application/x-ndjson": {"schema": "LabelRecord"}}},
                      **auth},
    }})
    for path, summary, op_id, method in (
            ("/v1/review/next", "The next paper to review, with suggestions and evidence",
             "reviewNext", "get"),
            ("/v1/review/papers/{paper_id}", "One stored paper with suggestions, evidence "
             "and its current decisions", "reviewPaper", "get"),
            ("/v1/review/undo", "Cancel your latest decision (an appended undo record)",
             "reviewUndo", "post"),
            ("/v1/review/progress", "Papers you reviewed today and papers in the queue",
             "reviewProgress", "get")):
        operation = {"summary": summary, "operationId": op_id,
                     "security": [{"reviewerToken": []}],
                     "responses": {"200": {"description": "OK",
                                           "content": {"application/json": {
                                               "schema": {"type": "object"}}}}, **auth}}
        if "{paper_id}" in path:
            operation["parameters"] = [{"name": "paper_id", "in": "path", "required": True,
                                        "schema": {"type": "string", "minLength": 1}}]
            operation["responses"]["404"] = _error("No such paper in the label store, or "
                                                   "reviewing disabled")
        if op_id == "reviewNext":
            operation["responses"]["422"] = _error("Unknown strategy")
            operation["parameters"] = [
                {"name": "strategy", "in": "query", "required": False,
                 "description": "How the queue picks the next paper.",
                 "schema": {"type": "string", "enum": list(STRATEGIES),
                            "default": DEFAULT_STRATEGY}},
                {"name": "skip", "in": "query", "required": False,
                 "description": "Comma-separated paper ids not to offer (already seen).",
                 "schema": {"type": "string"}}]
        if op_id == "reviewUndo":
            operation["responses"]["409"] = _error("Nothing to undo")
        spec.path(path, operations={method: operation})
