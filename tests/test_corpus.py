"""Corpus readers on real files: good records come through, bad ones are reported as exact
``FILE:LINE: reason`` messages and skipped, and every other record is still read."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest

from tagger.corpus import CorpusError, RecordError, detect_format, read_corpus, read_documents
from tagger.records import Limits

ABSTRACT = ("We study forecasting of seasonal sensor data with a state space model and show "
            "that a Kalman filter recovers the latent state on three benchmark data sets.")
# The plain-text format tells titles from abstracts by length: an abstract has 40+ words.
LONG_ABSTRACT = " ".join([ABSTRACT] * 3)


def read_all(path: Path | str, **kwargs) -> tuple[list, list[str]]:
    """Documents and the ``str()`` of every reported error, in order."""
    errors: list[RecordError] = []
    documents = list(read_documents(path, on_error=errors.append, **kwargs))
    return documents, [str(error) for error in errors]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- JSON Lines -------------------------------------------------------------------------------

def test_jsonl_good_records_keep_order_fields_and_default_ids(tmp_path):
    path = write_lines(tmp_path / "papers.jsonl", [
        json.dumps({"id": "p1", "title": "  A  spaced\ttitle ", "abstract": f"  {ABSTRACT} "}),
        "",  # blank lines are skipped but still count for line numbers
        json.dumps({"abstract": ABSTRACT}),
        json.dumps({"id": "42", "abstract": ABSTRACT}),
        json.dumps({"id": "", "title": None, "abstract": ABSTRACT}),
    ])
    documents, errors = read_all(path)
    assert errors == []
    assert [doc.id for doc in documents] == ["p1", "3", "42", "5"]
    assert [doc.line for doc in documents] == [1, 3, 4, 5]
    first = documents[0]
    assert first.title == "A spaced title"
    assert first.abstract == ABSTRACT
    assert documents[1].title == ""
    assert first.tags is None and first.source == str(path)
    assert first.month == "" and first.categories == ()


def test_jsonl_bad_lines_are_reported_exactly_and_skipped(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([
        json.dumps({"id": "ok-1", "abstract": ABSTRACT}).encode(),          # 1
        b'{"id": "broken", "abstract": ',                                   # 2
        json.dumps({"id": "no-abstract", "title": "T"}).encode(),           # 3
        json.dumps({"id": "empty", "abstract": "   "}).encode(),            # 4
        json.dumps(["a", "list"]).encode(),                                 # 5
        b'{"id": "latin1", "abstract": "caf\xe9 au lait"}',                 # 6
        json.dumps({"id": 1.5, "abstract": ABSTRACT}).encode(),             # 7
        json.dumps({"abstract": 17}).encode(),                              # 8
        json.dumps({"abstract": ABSTRACT, "title": ["x"]}).encode(),        # 9
        json.dumps({"abstract": "a\x00b"}).encode(),                        # 10
        json.dumps({"id": "ok-2", "abstract": ABSTRACT}).encode(),          # 11
    ]) + b"\n")
    documents, errors = read_all(path)
    assert [doc.id for doc in documents] == ["ok-1", "ok-2"]
    assert errors == [
        f"{path}:2: JSON ends early (truncated line?)",
        f"{path}:3: no 'abstract' field",
        f"{path}:4: abstract is empty",
        f"{path}:5: expected a JSON object",
        f"{path}:6: not valid UTF-8 (byte 33)",
        f"{path}:7: id must be a string, not a number",
        f"{path}:8: abstract must be a string, not a number",
        f"{path}:9: title must be a string, not a list",
        f"{path}:10: abstract contains a NUL character",
    ]


def test_precise_messages_for_null_truncated_and_garbled_lines(tmp_path):
    path = tmp_path / "precise.jsonl"
    path.write_bytes(b"\n".join([
        json.dumps({"id": "n", "abstract": None}).encode(),                 # 1
        b'{"id": "cut", "abstract": "We study forecasting of sea',          # 2 (cut mid-string)
        b'{"id": "cut2", "abstract": "x", "title": "y"',                    # 3 (no closing brace)
        b'{"id": "garbled", "abstract": "x",, "title": "y"}',               # 4
        json.dumps({"id": 42, "abstract": ABSTRACT}).encode(),              # 5
        json.dumps({"abstract": "a" * 20_001}).encode(),                    # 6
        json.dumps({"abstract": "time \ud800 series"}).encode(),           # 7
    ]) + b"\n")
    documents, errors = read_all(path, limits=Limits())
    assert documents == []
    assert errors == [
        f"{path}:1: abstract is null",
        f"{path}:2: JSON ends early (truncated line?)",
        f"{path}:3: JSON ends early (truncated line?)",
        f"{path}:4: not valid JSON (Expecting property name enclosed in double quotes at "
        "column 35)",
        f"{path}:5: id must be a string, not a number",
        f"{path}:6: abstract is longer than 20,000 characters (20,001)",
        f"{path}:7: abstract contains an unpaired surrogate (\\ud800-\\udfff)",
    ]


def test_month_and_categories_are_read_and_checked(tmp_path):
    path = write_lines(tmp_path / "feed.jsonl", [
        json.dumps({"id": "a", "abstract": ABSTRACT, "month": "2025-03",
                    "categories": ["cs.CL", "cs.LG", "cs.CL"]}),
        json.dumps({"id": "b", "abstract": ABSTRACT, "categories": "cs.CV  eess.IV"}),
        json.dumps({"id": "c", "abstract": ABSTRACT, "month": "2025-13"}),
        json.dumps({"id": "d", "abstract": ABSTRACT, "month": 202503}),
        json.dumps({"id": "e", "abstract": ABSTRACT, "categories": [1, 2]}),
        json.dumps({"id": "f", "abstract": ABSTRACT, "categories": {"cs": 1}}),
        json.dumps({"id": "g", "abstract": ABSTRACT, "categories": ["cs.CL", ""]}),
    ])
    documents, errors = read_all(path)
    assert [(d.id, d.month, d.categories) for d in documents] == [
        ("a", "2025-03", ("cs.CL", "cs.LG")), ("b", "", ("cs.CV", "eess.IV"))]
    assert errors == [
        f"{path}:3: month must be a string YYYY-MM, not '2025-13'",
        f"{path}:4: month must be a string YYYY-MM, not 202503",
        f"{path}:5: categories must be a list of non-empty strings",
        f"{path}:6: categories must be a list of strings, not an object",
        f"{path}:7: categories must be a list of non-empty strings",
    ]


def test_csv_month_and_space_separated_categories(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text(f'id,month,categories,abstract\nx,2024-01,cs.CL stat.ML,"{ABSTRACT}"\n'
                    f'y,,,"{ABSTRACT}"\nz,24-01,,"{ABSTRACT}"\n', encoding="utf-8")
    documents, errors = read_all(path)
    assert [(d.id, d.month, d.categories) for d in documents] == [
        ("x", "2024-01", ("cs.CL", "stat.ML")), ("y", "", ())]
    assert errors == [f"{path}:4: month must be a string YYYY-MM, not '24-01'"]


def test_jsonl_utf8_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "windows.jsonl"
    body = "\r\n".join(json.dumps({"id": f"w{i}", "abstract": ABSTRACT}) for i in range(2))
    path.write_bytes(b"\xef\xbb\xbf" + body.encode() + b"\r\n")
    documents, errors = read_all(path)
    assert errors == []
    assert [doc.id for doc in documents] == ["w0", "w1"]


def test_deeply_nested_json_is_a_record_error_not_a_crash(tmp_path):
    path = write_lines(tmp_path / "deep.jsonl", [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"id": "after", "abstract": ABSTRACT}),
    ])
    documents, errors = read_all(path)
    assert [doc.id for doc in documents] == ["after"]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:1: ")


def test_without_a_handler_the_first_bad_record_raises(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [json.dumps({"abstract": ABSTRACT}), "{]"])
    reader = read_documents(path)
    assert next(reader).id == "1"
    with pytest.raises(CorpusError, match=r"bad\.jsonl:2: not valid JSON"):
        next(reader)


def test_labelled_records_need_a_tag_list(tmp_path):
    path = write_lines(tmp_path / "labels.jsonl", [
        json.dumps({"id": "a", "abstract": ABSTRACT, "tags": ["time-series", "time-series"]}),
        json.dumps({"id": "b", "abstract": ABSTRACT}),
        json.dumps({"id": "c", "abstract": ABSTRACT, "tags": "time-series"}),
        json.dumps({"id": "d", "abstract": ABSTRACT, "tags": []}),
    ])
    documents, errors = read_all(path, labelled=True)
    assert [(doc.id, doc.tags) for doc in documents] == [
        ("a", ("time-series",)), ("c", ("time-series",)), ("d", ()),
    ]
    assert errors == [f"{path}:2: no 'tags' (labelled data needs a list of theme ids, [] for "
                      "none)"]


def test_stdin_is_json_lines(monkeypatch):
    data = "\n".join(json.dumps({"abstract": ABSTRACT, "title": f"T{i}"}) for i in range(3))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    documents, errors = read_all("-")
    assert errors == []
    assert [(doc.id, doc.title, doc.source) for doc in documents] == [
        ("1", "T0", "-"), ("2", "T1", "-"), ("3", "T2", "-"),
    ]


def test_gzip_files_are_read_transparently(tmp_path):
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "gz", "abstract": ABSTRACT}) + "\n{oops\n")
    documents, errors = read_all(path)
    assert [doc.id for doc in documents] == ["gz"]
    assert errors == [f"{path}:2: not valid JSON (Expecting property name enclosed in double "
                      "quotes at column 2)"]

    csv_path = tmp_path / "papers.csv.gz"
    with gzip.open(csv_path, "wt", encoding="utf-8", newline="") as handle:
        handle.write(f'id,abstract\r\ncsv-gz,"{ABSTRACT}"\r\n')
    documents, errors = read_all(csv_path)
    assert [doc.id for doc in documents] == ["csv-gz"] and errors == []


# --- CSV --------------------------------------------------------------------------------------

def test_csv_good_rows_including_quoted_newlines(tmp_path):
    path = tmp_path / "papers.csv"
    path.write_text(
        "ID,Title,Abstract,tags\n"
        f'c1,First,"{ABSTRACT}",time-series; state-space-models\n'
        f',"Two\nline title","multi\nline\nabstract",\n'
        "\n"
        f'c3,,"{ABSTRACT}",\n',
        encoding="utf-8",
    )
    documents, errors = read_all(path)
    assert errors == []
    assert [(doc.id, doc.line) for doc in documents] == [("c1", 2), ("3", 3), ("c3", 8)]
    assert documents[1].title == "Two line title"
    assert documents[1].abstract == "multi\nline\nabstract"

    labelled, errors = read_all(path, labelled=True)
    assert errors == []
    assert labelled[0].tags == ("time-series", "state-space-models")
    assert labelled[1].tags == ()


def test_csv_bad_rows_are_reported_exactly(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        b"id,title,abstract\n"
        + f'ok1,T,"{ABSTRACT}"\n'.encode()
        + b"short,row\n"
        + b"extra,field,here,again\n"
        + b"empty,T,\n"
        + b'bad-utf8,T,"caf\xe9"\n'
        + f'ok2,T,"{ABSTRACT}"\n'.encode()
    )
    documents, errors = read_all(path)
    assert [doc.id for doc in documents] == ["ok1", "ok2"]
    assert errors == [
        f"{path}:3: expected 3 CSV fields, found 2",
        f"{path}:4: expected 3 CSV fields, found 4",
        f"{path}:5: abstract is empty",
        f"{path}:6: not valid UTF-8",
    ]


def test_csv_without_abstract_column_is_one_error(tmp_path):
    path = write_lines(tmp_path / "noabstract.csv", ["id,title,summary", f'1,T,"{ABSTRACT}"'])
    documents, errors = read_all(path)
    assert documents == []
    assert errors == [f"{path}:1: CSV header has no 'abstract' column"]


def test_empty_files_give_nothing_and_no_errors(tmp_path):
    for name in ("empty.jsonl", "empty.csv", "empty.txt"):
        (tmp_path / name).write_bytes(b"")
        assert read_all(tmp_path / name) == ([], [])


# --- plain text (the seed page) ---------------------------------------------------------------

def test_text_format_pairs_titles_with_abstracts_and_tolerates_headers(tmp_path):
    path = write_lines(tmp_path / "seed_page.txt", [
        "# Seed papers",                 # 1 markdown header
        "Papers for the reading group",  # 2 stray header line (short, no abstract follows)
        "Updated 2024-05-01",            # 3 another stray line: replaces 2 as pending title
        "",                              # 4
        "-----",                         # 5 rule
        "Kalman filters for forecasting",  # 6 title
        LONG_ABSTRACT,                   # 7 abstract
        "",                              # 8
        LONG_ABSTRACT,                   # 9 abstract without a title
        "A dangling title",              # 10 title with nothing after it
    ])
    documents, errors = read_all(path)
    assert [(doc.id, doc.line, doc.title) for doc in documents] == [
        ("6", 6, "Kalman filters for forecasting"),
        ("9", 9, ""),
    ]
    assert documents[0].abstract == LONG_ABSTRACT
    assert errors == [f"{path}:10: title line with no abstract after it"]


def test_text_format_keeps_short_abstracts_and_reports_orphan_titles(tmp_path):
    """Real abstracts can be ~20 words: after a title, a line of 12+ words that is longer than
    the title is its abstract. A title followed by another title mid-page is reported, never
    dropped silently."""
    short = "We forecast seasonal sensor data with a Kalman filter and beat every baseline."
    path = write_lines(tmp_path / "page.txt", [
        "Reading list",                      # 1 header before the first paper: tolerated
        "Short paper",                       # 2
        short,                               # 3 short abstract (14 words, ends a sentence)
        "Orphan title",                      # 4 no abstract follows
        "Next title",                        # 5
        LONG_ABSTRACT,                       # 6
        "Title then a long list of words without any full stop at the end of it",  # 7
        LONG_ABSTRACT,                       # 8
    ])
    documents, errors = read_all(path)
    assert [(doc.id, doc.title, doc.abstract) for doc in documents] == [
        ("2", "Short paper", short),
        ("5", "Next title", LONG_ABSTRACT),
        ("7", "Title then a long list of words without any full stop at the end of it",
         LONG_ABSTRACT),
    ]
    assert errors == [f"{path}:4: title line with no abstract after it"]


@pytest.mark.parametrize("lines, expected", [
    (["A state space model for forecasting."], [("1", "", "A state space model for forecasting.")]),
    (["Kalman forecasting", "A state space model for forecasting."],
     [("1", "Kalman forecasting", "A state space model for forecasting.")]),
    (["", "# notes", "Tiny abstract."], [("3", "", "Tiny abstract.")]),
])
def test_text_with_one_short_paper_is_that_paper(tmp_path, lines, expected):
    """A short abstract piped in (maybe after its title) is a paper, not an orphan title."""
    documents, errors = read_all(write_lines(tmp_path / "one.txt", lines))
    assert errors == []
    assert [(doc.id, doc.title, doc.abstract) for doc in documents] == expected


def test_text_format_reports_invalid_utf8_and_carries_on(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(b"Title one\n" + b"caf\xe9 " * 50 + b"\n"
                     + b"Title two\n" + LONG_ABSTRACT.encode() + b"\n")
    documents, errors = read_all(path)
    assert [(doc.id, doc.title) for doc in documents] == [("3", "Title two")]
    assert errors == [f"{path}:2: not valid UTF-8 (byte 3)"]


def test_text_format_cannot_be_training_data(tmp_path):
    path = write_lines(tmp_path / "page.txt", ["T", LONG_ABSTRACT])
    with pytest.raises(CorpusError, match="plain-text format carries no tags"):
        list(read_documents(path, labelled=True))


# --- formats and several files ----------------------------------------------------------------

@pytest.mark.parametrize(("name", "fmt"), [
    ("a.jsonl", "jsonl"), ("a.ndjson", "jsonl"), ("A.JSON.GZ", "jsonl"), ("-", "jsonl"),
    ("a.csv", "csv"), ("a.tsv.gz", "csv"), ("a.txt", "text"), ("a.md", "text"),
    ("cs.LG.xml", "xml"), ("a.atom.gz", "xml"), ("a.RSS", "xml"),
])
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt


def test_unknown_extension_and_missing_file_are_corpus_errors(tmp_path):
    with pytest.raises(CorpusError, match=r"papers\.docx: cannot tell the format"):
        list(read_documents(tmp_path / "papers.docx"))
    with pytest.raises(CorpusError, match=r"missing\.jsonl: cannot open"):
        list(read_documents(tmp_path / "missing.jsonl"))
    with pytest.raises(CorpusError, match="unknown format"):
        list(read_documents(tmp_path / "x.jsonl", fmt="parquet"))


def test_tsv_uses_tabs(tmp_path):
    path = write_lines(tmp_path / "papers.tsv", ["id\tabstract", f"t1\t{ABSTRACT}"])
    documents, errors = read_all(path)
    assert errors == [] and [doc.id for doc in documents] == ["t1"]


def test_read_corpus_streams_files_in_order(tmp_path):
    first = write_lines(tmp_path / "a.jsonl", [json.dumps({"id": "a", "abstract": ABSTRACT})])
    second = write_lines(tmp_path / "b.csv", ["id,abstract", f'b,"{ABSTRACT}"'])
    errors: list[RecordError] = []
    documents = list(read_corpus([first, second], on_error=errors.append))
    assert [(doc.id, doc.source) for doc in documents] == [("a", str(first)), ("b", str(second))]
    assert errors == []


def test_text_format_round_trips_the_real_unlabelled_corpus(shared_dir, tmp_path):
    """Every real abstract (some have only ~20 words) survives the title/abstract line format."""
    source = shared_dir / "corpus" / "unlabelled.jsonl"
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    page = tmp_path / "page.txt"
    with page.open("w", encoding="utf-8") as handle:
        handle.write("# Papers\nUpdated weekly\n\n")
        for record in records:
            handle.write(" ".join(record["title"].split()) + "\n"
                         + " ".join(record["abstract"].split()) + "\n\n")
    documents, errors = read_all(page)
    assert errors == []
    assert [(doc.title, doc.abstract) for doc in documents] == [
        (" ".join(r["title"].split()), " ".join(r["abstract"].split())) for r in records]
