"""The label store against real databases: SQLite always, PostgreSQL when a server is
available (``scripts/install_system_deps.sh`` starts a throwaway one and writes its URL to
``$TAGGER_TEST_PG_URL_FILE``, default ``/tmp/tagger-test-postgres.url``; or set
``TAGGER_TEST_PG_URL``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tagger.corpus import Document
from tagger.store import StoreError, database_url, open_store

PG_URL_FILE = Path(os.environ.get("TAGGER_TEST_PG_URL_FILE", "/tmp/tagger-test-postgres.url"))


def postgres_url() -> str | None:
    if os.environ.get("TAGGER_TEST_PG_URL"):
        return os.environ["TAGGER_TEST_PG_URL"]
    if PG_URL_FILE.is_file():
        return PG_URL_FILE.read_text(encoding="utf-8").strip() or None
    return None


@pytest.fixture()
def pg_database():
    """A fresh, empty PostgreSQL database on the test server (dropped afterwards)."""
    base = postgres_url()
    if not base:
        pytest.skip(f"no PostgreSQL server: {PG_URL_FILE} missing (scripts/"
                    "install_system_deps.sh starts one when Debian's postgresql installs)")
    from sqlalchemy import create_engine, text

    admin = create_engine(database_url(base), isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - a dead server is a skip, with the reason
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base} not usable: {error}")
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "labels.db")
    return request.getfixturevalue("pg_database")


@pytest.fixture()
def store(db_url):
    store = open_store(db_url)
    yield store
    store.close()


def paper(pid: str) -> Document:
    return Document(id=pid, title=f"Title {pid}", abstract=f"Generated abstract about {pid}.")


def test_two_reviewers_last_decision_wins(store):
    store.add_papers([paper("p1"), paper("p2")])
    store.record(None, [("time-series", "accept"), ("automl", "reject")], "ann",
                 model_version="m1", paper_id="p1")
    assert store.labels() == {"p1": {"time-series"}}
    store.record(None, [("automl", "add")], "bob", model_version="m1", paper_id="p1")
    store.record(None, [("time-series", "reject")], "bob", paper_id="p1")
    assert store.current_labels("p1") == {"automl"}
    assert store.current_labels("p2") is None  # never reviewed
    # Nothing was overwritten: every decision is still there, in order.
    rows = store.decisions("p1")
    assert [(d.reviewer, d.theme, d.action) for d in rows] == [
        ("ann", "time-series", "accept"), ("ann", "automl", "reject"),
        ("bob", "automl", "add"), ("bob", "time-series", "reject")]
    assert rows[0].model_version == "m1" and rows[0].created_at.tzinfo is not None


def test_conflicts_between_reviewers_are_listed(store):
    store.add_papers([paper("p1")])
    store.record(None, [("time-series", "accept"), ("automl", "reject")], "ann", paper_id="p1")
    store.record(None, [("time-series", "reject"), ("automl", "reject")], "bob", paper_id="p1")
    assert store.conflicts() == [{"paper_id": "p1", "theme": "time-series",
                                  "reviewers": {"ann": "accept", "bob": "reject"},
                                  "current": "reject"}]
    # ann changing her mind to agree ends the conflict.
    store.record(None, [("time-series", "reject")], "ann", paper_id="p1")
    assert store.conflicts() == []


def test_undo_appends_and_restores_the_previous_decision(store):
    store.add_papers([paper("p1")])
    store.record(None, [("automl", "accept")], "ann", paper_id="p1")
    store.record(None, [("automl", "reject")], "ann", paper_id="p1")
    assert store.current_labels("p1") == set()
    undone = store.undo_last("ann")
    assert (undone.theme, undone.action) == ("automl", "reject")
    assert store.current_labels("p1") == {"automl"}
    assert store.undo_last("ann").action == "accept"
    assert store.current_labels("p1") is None  # back to unreviewed
    assert store.undo_last("ann") is None
    assert store.undo_last("nobody") is None
    actions = [d.action for d in store.decisions("p1")]
    assert actions == ["accept", "reject", "undo", "undo"]  # nothing deleted


def test_queue_progress_and_export(store):
    assert store.add_papers([paper("p1"), paper("p2"), paper("p3"), paper("p1")]) == 3
    assert store.add_papers([paper("p1")]) == 0
    assert [p.id for p in store.queued_papers()] == ["p1", "p2", "p3"]
    store.record(None, [("automl", "reject")], "ann", paper_id="p2")
    # Feedback about a new paper stores it, outside the queue.
    store.record(paper("x9"), [("time-series", "add")], "bob")
    assert [p.id for p in store.queued_papers()] == ["p1", "p3"]
    assert store.progress("ann") == {"reviewed_today": 1, "in_queue": 2}
    exported = list(store.export())
    assert [(r["id"], r["tags"], r["reviewers"]) for r in exported] == [
        ("p2", [], 1), ("x9", ["time-series"], 1)]
    assert exported[1]["abstract"] == paper("x9").abstract
    assert store.stats()["reviewers"] == 2


def test_unknown_action_writes_nothing(store):
    store.add_papers([paper("p1")])
    with pytest.raises(ValueError):
        store.record(None, [("automl", "accept"), ("automl", "maybe")], "ann", paper_id="p1")
    assert store.decisions() == []


def test_reopening_keeps_everything(db_url):
    first = open_store(db_url)
    first.add_papers([paper("p1")])
    first.record(None, [("automl", "accept")], "ann", paper_id="p1")
    first.close()
    again = open_store(db_url)  # migrations are idempotent
    assert again.labels() == {"p1": {"automl"}}
    again.close()


def test_urls_and_bad_urls(tmp_path, monkeypatch):
    assert database_url(tmp_path / "a.db") == f"sqlite:///{tmp_path / 'a.db'}"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("TAGGER_DB", str(tmp_path / "env.db"))
    assert database_url(None).endswith("env.db")
    with pytest.raises(StoreError, match="unsupported database"):
        open_store("mysql://u@h/db")


def test_sqlite_file_is_in_wal_mode(tmp_path):
    import sqlite3

    open_store(tmp_path / "labels.db").close()
    with sqlite3.connect(tmp_path / "labels.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# The child records batches of 5 decisions; during batch STOP_AT it stops after the third
# insert (inside the open transaction), tells the parent, and waits to be killed.
_CHILD = textwrap.dedent("""
    import sys, time
    from sqlalchemy import event
    from tagger.corpus import Document
    from tagger.store import open_store

    url, stop_at = sys.argv[1], int(sys.argv[2])
    store = open_store(url)
    store.add_papers([Document(id="p", abstract="Generated.")])
    state = {"batch": -1, "inserts": 0}

    @event.listens_for(store.engine, "after_cursor_execute")
    def _hang_mid_batch(conn, cursor, statement, params, context, many):
        if statement.startswith("INSERT INTO decisions"):
            state["inserts"] += 1
            if state["batch"] == stop_at and state["inserts"] == 3:
                print("mid-batch", flush=True)
                time.sleep(600)

    themes = ["t1", "t2", "t3", "t4", "t5"]
    for k in range(stop_at + 1):
        state["batch"], state["inserts"] = k, 0
        store.record(None, [(t, "accept") for t in themes], f"r{k}", paper_id="p")
        print(f"committed {k}", flush=True)
""")


def test_a_killed_writer_loses_no_committed_decision_and_leaves_no_half_batch(db_url):
    stop_at = 7
    child = subprocess.Popen([sys.executable, "-c", _CHILD, db_url, str(stop_at)],
                             stdout=subprocess.PIPE, text=True)
    committed = []
    try:
        for line in child.stdout:
            if line.startswith("committed"):
                committed.append(int(line.split()[1]))
            if line.strip() == "mid-batch":
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert committed == list(range(stop_at))
    store = open_store(db_url)
    rows = store.decisions()
    by_batch: dict[str, list] = {}
    for d in rows:
        by_batch.setdefault(d.batch, []).append(d)
    assert sorted(d.reviewer for d in rows) == sorted(
        f"r{k}" for k in committed for _ in range(5))
    assert all(len(batch) == 5 for batch in by_batch.values())
    # The store still works after the crash (no lock left behind).
    store.record(None, [("t1", "reject")], "after", paper_id="p")
    assert len(store.decisions()) == 5 * stop_at + 1
    store.close()


# --- tagger labels import ---------------------------------------------------------------------

TAGGER = str(Path(sys.executable).parent / "tagger")


def import_labels(path: Path, source: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([TAGGER, "labels", "import", str(path), "--source", source,
                           "--db", db], capture_output=True, text=True, timeout=120)


def test_labels_import_is_idempotent_and_reviews_override_it(db_url, tmp_path):
    """Imported labels become decisions of ``import:SOURCE`` (a paper without themes counts as
    labelled too); bad records are named and skipped (exit 3) while the good ones are stored;
    a re-import appends nothing, a changed tag appends only the change, and a later review
    overrides an import without the re-import undoing it."""
    good = [{"id": "p1", "title": "T1", "abstract": "Neural architecture search.",
             "tags": ["automl"]},
            {"id": "p2", "title": "T2", "abstract": "A study of soil moisture.", "tags": []},
            {"id": "p3", "title": "T3", "abstract": "Mamba for forecasting.",
             "tags": ["state-space-models", "time-series"]}]
    bad = ['{"id": "p4", "abstract": "no tags here"}',
           '{"id": "p5", "abstract": "x", "tags": ["not-a-theme"]}']
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in good[:2]) + "\n".join(bad) + "\n"
                    + json.dumps(good[2]) + "\n", encoding="utf-8")
    first = import_labels(data, "gold", db_url)
    assert first.returncode == 3, first.stderr
    assert f"{data}:3: no 'tags'" in first.stderr
    assert f"{data}:4: theme(s) not-a-theme not in taxonomy" in first.stderr
    assert "imported 3 labelled papers" in first.stderr and "skipped 2" in first.stderr
    store = open_store(db_url)
    try:
        assert store.labels() == {"p1": {"automl"}, "p2": set(),
                                  "p3": {"state-space-models", "time-series"}}
        n_decisions = len(store.decisions())
        assert n_decisions == 3 * 19
        assert store.stats()["imported"] == {"gold": 3}
        assert store.stats()["reviewers"] == 0
    finally:
        store.close()
    again = import_labels(data, "gold", db_url)
    assert "0 decisions, 3 unchanged" in again.stderr
    store = open_store(db_url)
    try:
        assert len(store.decisions()) == n_decisions
        store.record(None, [("automl", "reject"), ("computer-vision", "add")], reviewer="ana",
                     paper_id="p1")
    finally:
        store.close()
    good[2]["tags"] = ["state-space-models"]
    data.write_text("".join(json.dumps(r) + "\n" for r in good), encoding="utf-8")
    changed = import_labels(data, "gold", db_url)
    assert changed.returncode == 0, changed.stderr
    assert "1 decisions, 2 unchanged" in changed.stderr
    store = open_store(db_url)
    try:
        assert store.labels()["p1"] == {"computer-vision"}  # the review still wins
        assert store.labels()["p3"] == {"state-space-models"}
        assert store.stats()["reviewers"] == 1
    finally:
        store.close()


def test_labels_import_refuses_a_bad_source_name(tmp_path):
    data = tmp_path / "gold.jsonl"
    data.write_text('{"id": "p1", "abstract": "x", "tags": []}\n', encoding="utf-8")
    result = import_labels(data, "no spaces please", str(tmp_path / "labels.db"))
    assert result.returncode == 2 and "--source must be" in result.stderr
