"""The record rules as regular expressions (tagger.records.*_PATTERN, published in the OpenAPI
document) agree with the rules themselves, in Python's dialect and in the Rust one that
schemathesis and other jsonschema-rs validators use."""

from __future__ import annotations

import re

import jsonschema_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from tagger.records import (
    NON_BLANK_TEXT_PATTERN,
    TEXT_PATTERN,
    Limits,
    check_abstract,
    check_title,
)

# Whitespace, NUL and ordinary characters mixed, so blank and NUL-bearing strings are common.
_text = st.text(st.one_of(st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000\x00"),
                          st.characters(codec="utf-8")), max_size=30)
_TEXT = jsonschema_rs.validator_for({"type": "string", "pattern": TEXT_PATTERN})
_ABSTRACT = jsonschema_rs.validator_for({"type": "string", "pattern": NON_BLANK_TEXT_PATTERN})


@given(_text)
@settings(max_examples=500, deadline=None)
def test_the_patterns_accept_what_the_rules_accept(value):
    limits = Limits()
    assert bool(re.search(NON_BLANK_TEXT_PATTERN, value)) is (check_abstract(value, limits)
                                                             is None)
    assert bool(re.search(TEXT_PATTERN, value)) is (check_title(value, limits) is None)
    assert _ABSTRACT.is_valid(value) is (check_abstract(value, limits) is None)
    assert _TEXT.is_valid(value) is (check_title(value, limits) is None)


def test_the_patterns_refuse_the_requests_that_were_once_declared_valid():
    assert not re.search(NON_BLANK_TEXT_PATTERN, "an abstract\x00with a NUL")
    assert not re.search(NON_BLANK_TEXT_PATTERN, " \u3000\n")
    assert re.search(NON_BLANK_TEXT_PATTERN, "\u3000 Mamba \U0001F40D")
    assert not _TEXT.is_valid("id\x00")
