"""One validation of records (tagger.records): the CLI's readers (JSON Lines and CSV files) and
the API's request schema accept and refuse the same records, with the same message, on one
shared table. Refused records name the field; accepted ones normalise identically."""

from __future__ import annotations

import csv
import json

import pytest
from marshmallow import ValidationError

from tagger.api.schemas import TagRequestSchema
from tagger.corpus import RecordError, read_documents
from tagger.records import ErrorDigest, Limits, parse_categories, record_problem

GOOD = "Forecasting seasonal sensor data with a Kalman filter."
LIMITS = Limits(max_abstract_chars=200, max_title_chars=50)

# (name, record, refused field or None, message or None)
TABLE = [
    ("good", {"id": "a", "title": "T", "abstract": GOOD}, None, None),
    ("no id", {"abstract": GOOD}, None, None),
    ("null title", {"abstract": GOOD, "title": None}, None, None),
    ("padded", {"id": "b", "title": "  Two   spaces ", "abstract": f"  {GOOD}  "}, None, None),
    ("at the limit", {"abstract": "x" * 200}, None, None),
    ("missing abstract", {"title": "T"}, "abstract", "no 'abstract' field"),
    ("null abstract", {"abstract": None}, "abstract", "abstract is null"),
    ("empty abstract", {"abstract": ""}, "abstract", "abstract is empty"),
    ("blank abstract", {"abstract": " \n\t "}, "abstract", "abstract is empty"),
    ("numeric abstract", {"abstract": 42}, "abstract", "abstract must be a string, not a number"),
    ("list abstract", {"abstract": ["x"]}, "abstract", "abstract must be a string, not a list"),
    ("long abstract", {"abstract": "x" * 201}, "abstract",
     "abstract is longer than 200 characters (201)"),
    ("NUL abstract", {"abstract": "time\x00series"}, "abstract",
     "abstract contains a NUL character"),
    ("surrogate abstract", {"abstract": "time \ud800 series"}, "abstract",
     "abstract contains an unpaired surrogate (\\ud800-\\udfff)"),
    ("numeric id", {"id": 5, "abstract": GOOD}, "id", "id must be a string, not a number"),
    ("boolean id", {"id": True, "abstract": GOOD}, "id", "id must be a string, not a boolean"),
    ("object id", {"id": {"a": 1}, "abstract": GOOD}, "id", "id must be a string, not an object"),
    ("long id", {"id": "i" * 513, "abstract": GOOD}, "id",
     "id is longer than 512 characters (513)"),
    ("NUL id", {"id": "a\x00", "abstract": GOOD}, "id", "id contains a NUL character"),
    ("list title", {"abstract": GOOD, "title": ["x"]}, "title",
     "title must be a string, not a list"),
    ("long title", {"abstract": GOOD, "title": "t" * 51}, "title",
     "title is longer than 50 characters (51)"),
    ("NUL title", {"abstract": GOOD, "title": "a\x00"}, "title", "title contains a NUL character"),
]


def _cli_jsonl(tmp_path, record: dict) -> tuple[list, list[RecordError]]:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    errors: list[RecordError] = []
    return list(read_documents(path, on_error=errors.append, limits=LIMITS)), errors


def _api(record: dict) -> tuple[dict | None, dict | None]:
    schema = TagRequestSchema(max_abstract_chars=LIMITS.max_abstract_chars,
                              max_title_chars=LIMITS.max_title_chars)
    try:
        return schema.load(record), None
    except ValidationError as error:
        return None, error.messages  # type: ignore[return-value]


@pytest.mark.parametrize("record, field, message", [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_cli_reader_and_api_schema_agree(tmp_path, record, field, message):
    documents, errors = _cli_jsonl(tmp_path, record)
    loaded, api_errors = _api(record)
    assert record_problem(record, LIMITS) == ((field, message) if field else None)
    if field is None:
        assert errors == [] and api_errors is None
        (doc,) = documents
        # What the API scores is what the CLI scores (tagger.api.views.tagging._document).
        assert doc.abstract == loaded["abstract"].strip()
        assert doc.title == " ".join(loaded["title"].split())
        assert doc.id == (loaded["id"] or "1")
    else:
        assert documents == [] and loaded is None
        assert [str(e) for e in errors] == [f"{tmp_path / 'one.jsonl'}:1: {message}"]
        assert api_errors == {field: [message]}


@pytest.mark.parametrize("record, field, message",
                         [row[1:] for row in TABLE if all(
                             isinstance(v, str) for v in row[1].values())],
                         ids=[row[0] for row in TABLE if all(
                             isinstance(v, str) for v in row[1].values())])
def test_csv_reader_agrees_on_the_string_records(tmp_path, record, field, message):
    """CSV cells are strings: the records the table can express in CSV get the same answer."""
    path = tmp_path / "one.csv"
    columns = ["id", "title", "abstract"] if "abstract" in record else ["id", "title", "x"]
    with path.open("w", encoding="utf-8", newline="", errors="surrogatepass") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        # An id keeps a row of empty cells from being a blank (skipped) line.
        writer.writerow([record.get(c, "row" if c == "id" else "") for c in columns])
    errors: list[RecordError] = []
    documents = list(read_documents(path, on_error=errors.append, limits=LIMITS))
    if "abstract" not in record:
        assert [e.reason for e in errors] == ["CSV header has no 'abstract' column"]
    elif "\ud800" in record["abstract"]:
        assert [e.reason for e in errors] == ["not valid UTF-8"]  # not encodable in a file
    elif field is None:
        assert len(documents) == 1 and errors == []
    else:
        assert documents == [] and [e.reason for e in errors] == [message]


def test_categories_accept_a_list_or_a_space_separated_string():
    assert parse_categories(["cs.CL", "cs.LG"]) == ("cs.CL", "cs.LG")
    assert parse_categories(" cs.CL  stat.ML ") == ("cs.CL", "stat.ML")
    assert parse_categories(None) == () and parse_categories("") == ()
    assert parse_categories(["68T45, 62H30"]) == ("68T45, 62H30",)  # MSC lists as in the feed
    assert parse_categories(3) == "categories must be a list of strings, not a number"


def test_error_digest_shows_the_first_then_counts_per_reason():
    said: list[str] = []
    digest = ErrorDigest(said.append, show=2)
    for line in range(1, 6):
        digest(RecordError("f.jsonl", line, "abstract is null"))
    digest(RecordError("f.jsonl", 9, "abstract is longer than 10 characters (12)"))
    digest(RecordError("f.jsonl", 10, "abstract is longer than 10 characters (99)"))
    digest.finish()
    assert said == [
        "f.jsonl:1: abstract is null",
        "f.jsonl:2: abstract is null",
        "... and 5 more skipped records not shown, by reason:",
        "  3 x abstract is null (first at f.jsonl:3)",
        "  2 x abstract is longer than 10 characters (first at f.jsonl:9)",
    ]
