"""Marshmallow schemas for every request and response. Requests are validated with them;
responses are documented by them (``/openapi.json``) and checked against them in the tests.

Limits that come from configuration (abstract length, batch size) are applied per schema
instance, so one app can run with its own limits without global state.

What a good record is (abstract, title, id) is decided by :mod:`tagger.records`, the rules the
CLI's readers use too: the same record is accepted or refused the same way, with the same
message, whether it comes in a file or over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from tagger.records import (
    MAX_ABSTRACT_CHARS,
    MAX_ID_CHARS,
    MAX_TITLE_CHARS,
    NON_BLANK_TEXT_PATTERN,
    TEXT_PATTERN,
    Limits,
    check_abstract,
    check_id,
    check_title,
    text_problem,
)


class StrictBoolean(fields.Boolean):
    """JSON ``true``/``false`` only: ``"yes"``, ``1`` or ``"true"`` are type errors, not
    booleans, so a client bug is reported instead of guessed at."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _no_nul(value: str) -> None:
    """A marshmallow validator for other schemas' free-text fields: NUL characters and lone
    surrogates are refused, with the shared message of :func:`tagger.records.text_problem`."""
    problem = text_problem("value", value)
    if problem:
        raise ValidationError(problem)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _add_validator(field: fields.Field, validator) -> None:
    field.validators = [*field.validators, validator]


class RecordField(fields.String):
    """A string field checked by a :mod:`tagger.records` rule (``check(value, limits)`` returns
    the reason a value is refused). The rule sees the raw JSON value, so type errors get the
    shared message too; the schema sets :attr:`limits` per instance."""

    def __init__(self, check: Callable[[object, Limits], str | None], **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.limits = Limits()

    def _deserialize(self, value, attr, data, **kwargs):
        problem = self.check(value, self.limits)
        if problem:
            raise ValidationError(problem)
        return value


class TitleField(RecordField):
    """The optional title: ``null`` means no title, as in files (an empty string). Done in
    the field rather than a ``post_load`` hook, which cost more than validating the title."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None:
            return ""
        return super().deserialize(value, attr, data, **kwargs)


class TagRequestSchema(Schema):
    """One document to tag."""

    class Meta:
        unknown = RAISE

    abstract = RecordField(check_abstract, required=True,
                           error_messages={"required": "no 'abstract' field",
                                           "null": "abstract is null"},
                           validate=validate.Length(min=1),
                           metadata={"description": "The abstract (required, non-blank; no "
                                     "NUL characters or unpaired surrogates).",
                                     "pattern": NON_BLANK_TEXT_PATTERN})
    title = TitleField(check_title, load_default="", allow_none=True,
                        metadata={"description": "Optional title; scored with the abstract.",
                                  "pattern": TEXT_PATTERN})
    id = RecordField(check_id, load_default=None, allow_none=True,
                     validate=validate.Length(max=MAX_ID_CHARS),
                     metadata={"description": "Echoed back in the result.",
                               "pattern": TEXT_PATTERN})
    explain = StrictBoolean(load_default=False,
                            metadata={"description": "Add the phrases that drove each tag."})
    all_scores = StrictBoolean(load_default=False,
                               metadata={"description": "Add every theme's score."})

    def __init__(self, *args, max_abstract_chars: int = MAX_ABSTRACT_CHARS,
                 max_title_chars: int = MAX_TITLE_CHARS, **kwargs):
        super().__init__(*args, **kwargs)
        limits = Limits(max_abstract_chars=max_abstract_chars, max_title_chars=max_title_chars)
        for name in ("abstract", "title", "id"):
            self.fields[name].limits = limits  # type: ignore[attr-defined]
        # Documentation only (the rule above already enforces it): maxLength in /openapi.json.
        # Field copies share their validator list with the class: extend with new lists.
        _add_validator(self.fields["abstract"], validate.Length(max=max_abstract_chars))
        _add_validator(self.fields["title"], validate.Length(max=max_title_chars))


class TagBatchRequestSchema(Schema):
    """Up to ``TAGGER_MAX_BATCH`` documents, scored together."""

    class Meta:
        unknown = RAISE

    documents = fields.List(fields.Nested(TagRequestSchema), required=True)

    def __init__(self, *args, max_batch: int = 500, max_abstract_chars: int = MAX_ABSTRACT_CHARS,
                 max_title_chars: int = MAX_TITLE_CHARS, **kwargs):
        super().__init__(*args, **kwargs)
        documents = self.fields["documents"]
        _add_validator(documents, validate.Length(min=1, max=max_batch))
        documents.inner.nested = TagRequestSchema(  # type: ignore[attr-defined]
            max_abstract_chars=max_abstract_chars, max_title_chars=max_title_chars)


class TagSchema(Schema):
    theme = fields.String(required=True, metadata={"example": "time-series"})
    label = fields.String(required=True, metadata={"example": "Time series"})
    score = fields.Float(required=True, metadata={"example": 0.93})


class SpanSchema(Schema):
    field = fields.String(required=True, validate=validate.OneOf(["title", "abstract"]))
    start = fields.Integer(required=True)
    end = fields.Integer(required=True)


class EvidenceSchema(Schema):
    text = fields.String(required=True)
    weight = fields.Float(required=True)
    spans = fields.List(fields.Nested(SpanSchema), required=True)


class ModelRefSchema(Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)


class TagResultSchema(Schema):
    id = fields.String(allow_none=True, required=True)
    tags = fields.List(fields.Nested(TagSchema), required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(),
                         metadata={"description": "Every theme's score (all_scores)."})
    evidence = fields.Dict(keys=fields.String(),
                           values=fields.List(fields.Nested(EvidenceSchema)),
                           metadata={"description": "Per tagged theme (explain)."})


class TagResponseSchema(TagResultSchema):
    model = fields.Nested(ModelRefSchema, required=True)


class TagBatchResponseSchema(Schema):
    results = fields.List(fields.Nested(TagResultSchema), required=True)
    model = fields.Nested(ModelRefSchema, required=True)


class ThemeSchema(Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(required=True)


class ThemesResponseSchema(Schema):
    taxonomy = fields.Dict(required=True, metadata={"description": "name and version"})
    themes = fields.List(fields.Nested(ThemeSchema), required=True)


class ModelResponseSchema(Schema):
    model = fields.Nested(ModelRefSchema, required=True)
    manifest = fields.Dict(required=True,
                           metadata={"description": "The model's manifest.json (training data, "
                                     "cross-validated metrics, thresholds, checksums)."})


class HealthSchema(Schema):
    status = fields.String(required=True)
    model = fields.Nested(ModelRefSchema, allow_none=True)


class ReloadResponseSchema(Schema):
    status = fields.String(required=True)
    model = fields.Nested(ModelRefSchema, required=True)
    generation = fields.Integer(required=True)


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


DECISIONS = ("accept", "reject", "add")
MAX_DECISIONS = 100


class FeedbackRequestSchema(Schema):
    """A reviewer's decisions about one paper's themes."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=[validate.Length(min=1, max=MAX_ID_CHARS),
                                                _no_nul],
                       metadata={"description": "The paper's id (its key in the label store).",
                                 "pattern": TEXT_PATTERN})
    title = fields.String(load_default="", validate=[validate.Length(max=MAX_TITLE_CHARS),
                                                     _no_nul],
                          metadata={"pattern": TEXT_PATTERN})
    abstract = fields.String(load_default=None, validate=[
                                 validate.Length(max=MAX_ABSTRACT_CHARS), _no_nul, _not_blank],
                             metadata={"description": "Required the first time a paper is "
                                       "sent; later decisions may give only the id.",
                                       "pattern": NON_BLANK_TEXT_PATTERN})
    accept = fields.List(fields.String(), load_default=list,
                         metadata={"description": "Suggested themes that are right."})
    reject = fields.List(fields.String(), load_default=list,
                         metadata={"description": "Suggested themes that are wrong."})
    add = fields.List(fields.String(), load_default=list,
                      metadata={"description": "Missed themes."})

    @validates_schema
    def _decisions(self, data: dict, **_kwargs) -> None:
        """What the document says too (``openapi.add_feedback_rules``): at least one theme,
        no theme twice in one list. A theme in two lists is a conflict the view answers
        with 409 (no OpenAPI 3.0 schema can say it)."""
        lists = {key: data.get(key, []) for key in DECISIONS}
        if not any(lists.values()):
            raise ValidationError("Give at least one theme in accept, reject or add.",
                                  "_schema")
        for key, themes in lists.items():
            repeated = sorted({t for t in themes if themes.count(t) > 1})
            if repeated:
                raise ValidationError(f"A theme may appear once in a list: {repeated}.", key)
        if sum(map(len, lists.values())) > MAX_DECISIONS:
            raise ValidationError(f"At most {MAX_DECISIONS} decisions per request.", "_schema")


def conflicting_themes(data: dict) -> list[str]:
    """Themes named in more than one of accept / reject / add (contradictory decisions)."""
    named = [t for key in DECISIONS for t in set(data.get(key, []))]
    return sorted({t for t in named if named.count(t) > 1})


class FeedbackResponseSchema(Schema):
    id = fields.String(required=True)
    reviewer = fields.String(required=True)
    recorded = fields.Integer(required=True, metadata={"description": "Decisions stored."})
    labels = fields.List(fields.String(), required=True,
                         metadata={"description": "The paper's current labels (last "
                                   "decision wins)."})


class LabelRecordSchema(Schema):
    """One line of ``/v1/labels/export``."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    abstract = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    source = fields.String(required=True)
    reviewers = fields.Integer(required=True, metadata={"description": "How many reviewers "
                               "decided on this paper (a count, never names)."})
    last_reviewed = fields.String(required=True)

# Entries of one Atom feed answer (the feed routes' ``n``): bounds shared by the view and the
# OpenAPI document.
MAX_FEED_ENTRIES = 100
DEFAULT_FEED_ENTRIES = 30
