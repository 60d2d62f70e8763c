"""The paper stream end to end through real ``tagger`` processes and real databases (SQLite
always, PostgreSQL when the throwaway server runs, as the label-store tests): ingest of every
input layout, idempotent re-ingest, new versions, bad records, retag with another model, the
digest, and a kill during ingest."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tagger.arxiv import abs_url, canonical_id
from tagger.corpus import read_documents
from tagger.store.schema import stream_papers, stream_tags, stream_tags_previous
from tagger.stream.store import StreamStore
from tests.conftest import SHIPPED_MODEL
from tests.stream_data import (
    atom_listing,
    kaggle_line,
    papers,
    rss_listing,
    write_csv,
    write_jsonl,
)
from tests.test_store import db_url, pg_database  # noqa: F401 - the two-database fixtures

TAGGER = [str(Path(sys.executable).parent / "tagger")]


def tagger(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TAGGER, *args], capture_output=True, text=True, input=stdin,
                          timeout=600)


def ingest(db: str, model: Path, *inputs: str, stdin: str | None = None, **flags: str):
    extra = [f"--{k.replace('_', '-')}={v}" for k, v in flags.items()]
    return tagger("ingest", *inputs, "--db", db, "--model", str(model), "--jobs", "1",
                  "--quiet", *extra, stdin=stdin)


def stored(db: str) -> list[tuple]:
    store = StreamStore.open(db)
    try:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(stream_papers.c.paper_id, stream_papers.c.version,
                       stream_papers.c.latest, stream_papers.c.month, stream_papers.c.date,
                       stream_papers.c.categories).order_by(stream_papers.c.pk))]
    finally:
        store.close()


# --- readers ---------------------------------------------------------------------------

def test_arxiv_ids_have_one_spelling():
    for raw in ("2612.00001", "2612.00001v3", "arXiv:2612.00001", "oai:arXiv.org:2612.00001v1",
                "http://arxiv.org/abs/2612.00001v2", "https://arxiv.org/pdf/2612.00001v1"):
        assert canonical_id(raw) == "arxiv:2612.00001"
    assert canonical_id("hep-th/9901001v2") == "arxiv:hep-th/9901001"
    assert canonical_id("paper-1") is None and abs_url("paper-1") is None
    assert abs_url("arxiv:2612.00001") == "https://arxiv.org/abs/2612.00001"


def test_listings_and_snapshot_lines_read_as_records(tmp_path):
    records = papers(3)
    atom = tmp_path / "listing.xml"
    atom.write_text(atom_listing(records, broken_entry=True), encoding="utf-8")
    errors = []
    docs = list(read_documents(atom, on_error=errors.append))
    assert [d.id for d in docs] == [r["id"] for r in records]
    assert docs[0].title == records[0]["title"] and docs[0].abstract == records[0]["abstract"]
    assert docs[0].date == "2026-12-01" and docs[0].month == "2026-12"
    assert docs[0].categories == ("cs.LG", "stat.ML")
    assert [str(e) for e in errors] == [f"{atom}:{atom.read_text().count(chr(10)) - 5}: "
                                        "no 'abstract' field"]
    rss = tmp_path / "cs.LG.rss"
    rss.write_text(rss_listing(records), encoding="utf-8")
    docs = list(read_documents(rss))
    assert [d.abstract for d in docs] == [r["abstract"] for r in records]  # no "Announce"
    assert docs[1].date == "2026-12-02" and docs[1].id == records[1]["id"]
    kaggle = tmp_path / "snapshot.json"
    kaggle.write_text("".join(kaggle_line(r) for r in records), encoding="utf-8")
    docs = list(read_documents(kaggle))
    assert docs[0].id == records[0]["id"].removeprefix("arxiv:")  # tag echoes ids verbatim
    assert (docs[0].date, docs[0].month) == ("2026-12-01", "2026-12")
    assert docs[0].title == records[0]["title"] and docs[0].categories == ("cs.LG", "stat.ML")


def test_broken_xml_is_reported_at_its_line(tmp_path):
    text = atom_listing(papers(2))
    broken = tmp_path / "cut.xml"
    broken.write_text(text[: text.index("</entry>", text.index("</entry>") + 1) - 40])
    errors = []
    docs = list(read_documents(broken, on_error=errors.append))
    assert len(docs) == 1 and len(errors) == 1
    assert str(errors[0]).startswith(f"{broken}:") and "not valid XML" in str(errors[0])


# --- ingest ------------------------------------------------------------------------------

def test_every_layout_ingests_once_then_reingest_only_moves_seen(db_url, small_model,  # noqa: F811
                                                                  tmp_path):
    records = papers(30)
    jsonl = write_jsonl(tmp_path / "a.jsonl", records[:6])
    gz = write_jsonl(tmp_path / "b.jsonl.gz", records[6:12], gz=True)
    csv_path = write_csv(tmp_path / "c.csv", records[12:18])
    kaggle = tmp_path / "d.json"
    kaggle.write_text("".join(kaggle_line(r) for r in records[18:24]), encoding="utf-8")
    atom = tmp_path / "e.xml"
    atom.write_text(atom_listing(records[24:27]), encoding="utf-8")
    rss = tmp_path / "f.rss"
    rss.write_text(rss_listing(records[27:]), encoding="utf-8")
    stdin = json.dumps({k: records[0][k] for k in ("id", "title", "abstract")}) + "\n"
    done = ingest(db_url, small_model, str(jsonl), str(gz), str(csv_path), str(kaggle),
                  str(atom), str(rss), batch_size="4")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "stored 30 new, 0 new versions, 0 unchanged, skipped 0"
    rows = stored(db_url)
    assert [r[0] for r in rows] == [r["id"] for r in records]  # one spelling for every id
    assert all(r[1:3] == (1, True) for r in rows)
    assert rows[18][3:5] == ("2026-12", "2026-12-01") and rows[24][4] == "2026-12-01"
    assert rows[12][5].split("\n") == ["cs.LG", "stat.ML"]
    store = StreamStore.open(db_url)
    before = store.state().generation
    store.close()

    again = ingest(db_url, small_model, "-", str(jsonl), stdin=stdin)  # stdin sniffed
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines()[-1] == "stored 0 new, 0 new versions, 7 unchanged, skipped 0"
    assert stored(db_url) == rows
    store = StreamStore.open(db_url)
    assert store.state().generation == before  # seen times only: feeds unchanged
    store.close()


def test_changed_abstract_is_a_new_version_and_bad_records_exit_3(db_url, small_model,  # noqa: F811
                                                                   tmp_path):
    records = papers(4)
    first = write_jsonl(tmp_path / "v1.jsonl", records)
    assert ingest(db_url, small_model, str(first)).returncode == 0
    changed = dict(records[1], abstract=records[1]["abstract"] + " We add a new experiment.")
    second = tmp_path / "v2.jsonl"
    second.write_text(json.dumps(changed) + "\n" + '{"id": "x", "abstract": null}\n'
                      + '{"id": "arxiv:2612.00001v2", "title": "' + records[0]["title"]
                      + '", "abstract": ' + json.dumps(records[0]["abstract"]) + "}\n")
    done = ingest(db_url, small_model, str(second))
    assert done.returncode == 3
    assert f"{second}:2: abstract is null" in done.stderr.splitlines()
    assert done.stderr.splitlines()[-1] == "stored 0 new, 1 new versions, 1 unchanged, skipped 1"
    rows = stored(db_url)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (records[0]["id"], 1, True), (records[1]["id"], 1, False), (records[2]["id"], 1, True),
        (records[3]["id"], 1, True), (records[1]["id"], 2, True)]
    store = StreamStore.open(db_url)
    with store.engine.connect() as conn:  # the old version left the feeds
        old_pk = conn.scalar(select(stream_papers.c.pk).where(
            stream_papers.c.paper_id == records[1]["id"], stream_papers.c.version == 1))
        assert conn.scalar(select(func.count()).select_from(stream_tags)
                           .where(stream_tags.c.paper_pk == old_pk)) == 0
    store.close()
    # a text the store holds in any version is seen, not news: re-reading both files (a file
    # may hold an id twice, with two texts) stores nothing
    again = ingest(db_url, small_model, str(first), str(second))
    assert again.stderr.splitlines()[-1] == "stored 0 new, 0 new versions, 6 unchanged, skipped 1"
    assert stored(db_url) == rows
    nothing = ingest(db_url, small_model, str(tmp_path / "missing.jsonl"))
    assert nothing.returncode == 1 and "missing.jsonl: cannot open" in nothing.stderr


def test_retag_compares_then_rescores_keeping_the_previous_tags(db_url, small_model,  # noqa: F811
                                                               tmp_path):
    records = papers(40)
    assert ingest(db_url, small_model, str(write_jsonl(tmp_path / "p.jsonl", records))
                  ).returncode == 0
    store = StreamStore.open(db_url)
    pks = [pk for page in store.latest_papers() for pk, *_ in page]
    small_scores = store.current_scores(pks)
    store.close()

    dry = tagger("retag", "--db", db_url, "--model", str(SHIPPED_MODEL), "--dry-run",
                 "--jobs", "1", "--quiet")
    assert dry.returncode == 0, dry.stderr
    table = {line.split()[0]: line.split()[1:] for line in dry.stdout.splitlines()[1:]}
    tagged = sum(1 for scores in small_scores.values() for s in scores.values() if s >= 0.5)
    assert sum(int(row[0].replace(",", "")) for row in table.values()) == tagged
    assert any(row[1] != "+0" or row[2] != "-0" for row in table.values())
    store = StreamStore.open(db_url)
    assert store.current_scores(pks) == small_scores  # a dry run stores nothing
    store.close()

    real = tagger("retag", "--db", db_url, "--model", str(SHIPPED_MODEL), "--jobs", "1",
                  "--quiet")
    assert real.returncode == 0 and real.stdout == dry.stdout
    store = StreamStore.open(db_url)
    assert store.current_scores(pks) != small_scores
    with store.engine.connect() as conn:
        previous: dict[int, dict[str, float]] = {pk: {} for pk in pks}
        for row in conn.execute(select(stream_tags_previous)):
            previous[row.paper_pk][row.theme] = row.score
    assert previous == small_scores
    store.close()
    # a second retag with the same model keeps the small model's tags as the previous ones
    assert tagger("retag", "--db", db_url, "--model", str(SHIPPED_MODEL), "--jobs", "1",
                  "--quiet", "--since", "1d").returncode == 0
    store = StreamStore.open(db_url)
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(stream_tags_previous)) == sum(
            len(s) for s in small_scores.values())
    store.close()


# --- the digest ------------------------------------------------------------------------

def test_digest_is_deterministic_and_best_first(db_url, small_model, tmp_path):  # noqa: F811
    db = db_url
    records = papers(40)
    assert ingest(db, small_model, str(write_jsonl(tmp_path / "p.jsonl", records))
                  ).returncode == 0
    args = ["digest", "--db", db, "--model", str(small_model), "--themes",
            "time-series,state-space-models", "--since", "2000-01-01"]
    outputs = {}
    for fmt in ("markdown", "text", "html"):
        first = tagger(*args, "--format", fmt)
        second = tagger(*args, "--format", fmt, "-o", str(tmp_path / f"d.{fmt}"))
        assert first.returncode == 0 and second.returncode == 0, first.stderr
        assert first.stdout == (tmp_path / f"d.{fmt}").read_text(encoding="utf-8")
        outputs[fmt] = first.stdout
    text = outputs["text"].splitlines()
    assert text[0].startswith("tagger digest: ") and "since 2000-01-01 00:00 UTC" in text[0]
    scores = [float(line.split()[0]) for line in text
              if line.startswith("  ") and line.split()[0][0].isdigit()
              and not line.startswith("         ")]
    sections = outputs["markdown"].split("\n## ")[1:]
    assert [s.split(" (")[0] for s in sections] == ["Time series", "State space models"]
    assert scores and all(s >= 0.5 for s in scores)
    ts = [float(line.split("score ")[1].split()[0]) for line in sections[0].splitlines()
          if "· score " in line]
    assert ts == sorted(ts, reverse=True) and len(ts) > 0
    assert "evidence: *" in sections[0] and "https://arxiv.org/abs/2612." in sections[0]

    import html5lib

    html5lib.HTMLParser(strict=True).parse(outputs["html"])  # raises on any parse error
    from datetime import UTC, datetime, timedelta

    store = StreamStore.open(db)  # the /themes counts agree with the digest's sections
    now = datetime.now(UTC)
    counts = store.theme_counts(["time-series"], [now - timedelta(days=14),
                                                  now - timedelta(days=7)])
    store.close()
    assert counts["time-series"] == [0, len(ts)]
    bad = tagger("digest", "--db", db, "--model", str(small_model), "--themes", "nope")
    assert bad.returncode == 2 and "unknown theme 'nope'" in bad.stderr


# --- a kill during ingest ------------------------------------------------------------

def test_killed_ingest_leaves_whole_batches_and_a_rerun_completes(db_url, small_model,  # noqa: F811
                                                                  tmp_path):
    batch = 100
    records = papers(6000, seed=5)
    source = write_jsonl(tmp_path / "big.jsonl", records)
    process = subprocess.Popen([*TAGGER, "ingest", str(source), "--db", db_url, "--model",
                                str(small_model), "--jobs", "1", "--quiet", "--batch-size",
                                str(batch)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    store = StreamStore.open(db_url)
    count = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        count = store.count_latest()
        if count >= 5 * batch:
            break
        time.sleep(0.05)
    assert process.poll() is None, "ingest finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    count = store.count_latest()
    assert 0 < count < len(records) and count % batch == 0  # whole batches only
    with store.engine.connect() as conn:  # every stored paper has its tags with it
        untagged = conn.scalar(select(func.count()).select_from(stream_papers)
                               .where(stream_papers.c.model_id.is_(None)))
        assert untagged == 0
    store.close()

    rerun = ingest(db_url, small_model, str(source), batch_size=str(batch))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.splitlines()[-1] == (
        f"stored {len(records) - count} new, 0 new versions, {count} unchanged, skipped 0")
    store = StreamStore.open(db_url)
    with store.engine.connect() as conn:
        per_id = conn.execute(select(stream_papers.c.paper_id, func.count())
                              .group_by(stream_papers.c.paper_id)).all()
    store.close()
    assert len(per_id) == len(records) and {n for _, n in per_id} == {1}
