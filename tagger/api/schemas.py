"""Marshmallow schemas for every request and response. Requests are validated with them;
responses are documented by them (``/openapi.json``) and checked against them in the tests.

Limits that come from configuration (abstract length, batch size) are applied per schema
instance, so one app can run with its own limits without global state.
"""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates


class StrictBoolean(fields.Boolean):
    """JSON ``true``/``false`` only: ``"yes"``, ``1`` or ``"true"`` are type errors, not
    booleans, so a client bug is reported instead of guessed at."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_nul(value: str) -> None:
    """NUL bytes and lone surrogates (legal in JSON escapes, not in text) are refused."""
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")
    if _SURROGATE.search(value):
        raise ValidationError("Must not contain unpaired surrogate code points.")


def _add_validator(field: fields.Field, validator) -> None:
    field.validators = [*field.validators, validator]


class TagRequestSchema(Schema):
    """One document to tag."""

    class Meta:
        unknown = RAISE

    abstract = fields.String(required=True, validate=[validate.Length(min=1), _no_nul],
                             metadata={"description": "The abstract (required, non-blank).",
                                       "pattern": r"\S"})
    title = fields.String(load_default="", validate=_no_nul,
                          metadata={"description": "Optional title; scored with the abstract."})
    id = fields.String(load_default=None, validate=[validate.Length(max=512), _no_nul],
                       metadata={"description": "Echoed back in the result."})
    explain = StrictBoolean(load_default=False,
                            metadata={"description": "Add the phrases that drove each tag."})
    all_scores = StrictBoolean(load_default=False,
                               metadata={"description": "Add every theme's score."})

    def __init__(self, *args, max_abstract_chars: int = 20_000, max_title_chars: int = 2_000,
                 **kwargs):
        super().__init__(*args, **kwargs)
        # Field copies share their validator list with the class: extend with new lists.
        _add_validator(self.fields["abstract"], validate.Length(max=max_abstract_chars))
        _add_validator(self.fields["title"], validate.Length(max=max_title_chars))

    @validates("abstract")
    def _not_blank(self, value: str, **_kwargs) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")


class TagBatchRequestSchema(Schema):
    """Up to ``TAGGER_MAX_BATCH`` documents, scored together."""

    class Meta:
        unknown = RAISE

    documents = fields.List(fields.Nested(TagRequestSchema), required=True)

    def __init__(self, *args, max_batch: int = 500, max_abstract_chars: int = 20_000,
                 max_title_chars: int = 2_000, **kwargs):
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
