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

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from tagger.records import (
    MAX_ABSTRACT_CHARS,
    MAX_ID_CHARS,
    MAX_TITLE_CHARS,
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
                           metadata={"description": "The abstract (required, non-blank).",
                                     "pattern": r"\S"})
    title = TitleField(check_title, load_default="", allow_none=True,
                        metadata={"description": "Optional title; scored with the abstract."})
    id = RecordField(check_id, load_default=None, allow_none=True,
                     validate=validate.Length(max=MAX_ID_CHARS),
                     metadata={"description": "Echoed back in the result."})
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
