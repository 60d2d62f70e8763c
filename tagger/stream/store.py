"""The paper stream's tables (``tagger.store.schema``, migration 0002) behind one class: store
a batch of tagged papers, rescore, and read what feeds, pages and digests show.

Writes are one transaction per batch, under the label store's write lock
(:func:`tagger.store.db.write_transaction`), so a killed ingest leaves whole batches only and
a rerun completes it. Paper keys (``pk``) are assigned by the writer under that lock, in ingest
order: "newest first" is ``pk`` descending, which the feed index walks backwards.
Reviewers' corrections (the review loop's ``decisions``) override the model's tags wherever
papers are read: a rejected theme is dropped, an accepted or added one kept whatever the score.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, event, func, insert, select, update

from tagger.store.db import write_transaction
from tagger.store.labels import LabelStore
from tagger.store.schema import (
    decisions,
    stream_evidence,
    stream_models,
    stream_papers,
    stream_state,
    stream_tags,
    stream_tags_previous,
)

_MODEL_IDS: dict[tuple[str, str, str], int] = {}  # (database, name, version) -> id

# Scores below this are not stored: 1.6 rows a paper instead of one per theme (19) on the
# arXiv feed, and a feed's min_score below it is answered as if it were this.
SCORE_FLOOR = 0.1
TAGGED = 0.5  # the decision point of calibrated scores (tagger.tagging.DECISION_SCORE)
_CHUNK = 500  # ids per IN (...) list: well inside every driver's parameter limit

ScoreRow = tuple[tuple[str, float], ...]  # (theme, score) at or above SCORE_FLOOR


def utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; every one was written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def text_digest(title: str, abstract: str) -> str:
    """What decides that a paper changed: its title and abstract as stored."""
    return hashlib.blake2b(f"{title}\x1f{abstract}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class StreamPaper:
    """One paper as the stream stores it (``id`` canonical, see :func:`tagger.arxiv`);
    ``digest`` is :func:`text_digest` of its title and abstract (:meth:`make` fills it)."""

    id: str
    title: str
    abstract: str
    digest: str
    month: str = ""
    date: str = ""
    categories: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def make(cls, id: str, title: str, abstract: str, **rest) -> StreamPaper:
        return cls(id, title, abstract, text_digest(title, abstract), **rest)


@dataclass
class BatchCounts:
    new: int = 0  # papers never seen
    versions: int = 0  # stored papers whose text changed: a new version
    unchanged: int = 0  # same text again: only ``last_seen`` moved

    def add(self, other: BatchCounts) -> None:
        self.new += other.new
        self.versions += other.versions
        self.unchanged += other.unchanged


@dataclass
class Entry:
    """A stored paper as feeds, pages and digests show it. ``scores`` has the model's score
    per shown theme (None for a theme a reviewer added below the floor); ``confirmed`` the
    themes a reviewer accepted or added."""

    pk: int
    paper_id: str
    version: int
    title: str
    abstract: str
    month: str
    date: str
    categories: tuple[str, ...]
    first_seen: datetime
    scores: dict[str, float | None] = field(default_factory=dict)
    confirmed: set[str] = field(default_factory=set)
    evidence: dict[str, list[str]] = field(default_factory=dict)

    @property
    def when(self) -> str:
        """The paper's date as its source gave it, else its month, else the day it came."""
        return self.date or self.month or self.first_seen.date().isoformat()

    def score_text(self, theme: str) -> str:
        """``0.97``, or ``reviewer`` for a theme a reviewer added below the stored floor."""
        score = self.scores.get(theme)
        return "reviewer" if score is None else f"{score:.2f}"


@dataclass(frozen=True)
class FeedState:
    """What a feed's validators are made of: the stream's change counter and time, and the
    newest review decision."""

    generation: int
    changed_at: datetime | None
    decision_seq: int
    decided_at: datetime | None

    @property
    def last_modified(self) -> datetime | None:
        times = [t for t in (self.changed_at, self.decided_at) if t is not None]
        return max(times) if times else None


class StreamStore:
    """Every read and write of the paper stream goes through this class."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.labels = LabelStore(engine)
        self._conn: Connection | None = None  # set inside reading()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the reads inside on one connection: one pool checkout and one read
        transaction for a whole feed request instead of one per query. Not for sharing
        across threads (the API makes a store object per request)."""
        with self.engine.connect() as conn:
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.engine.connect() as conn:
                yield conn

    @classmethod
    def open(cls, db: str | os.PathLike | None = None, bulk: bool = False) -> StreamStore:
        """The store named by ``db`` / ``$TAGGER_DB`` (migrated on open). ``bulk``: SQLite
        syncs at checkpoints only (``synchronous=NORMAL``, a checkpoint per 64 MiB of WAL;
        WAL keeps every committed batch consistent when the process is killed, a power cut
        may lose the last ones), the setting for ingest and retag, not for the review
        loop."""
        from tagger.store import open_store

        engine = open_store(db).engine
        if bulk and engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_bulk)
            engine.dispose()  # connections made from now on get the setting
        return cls(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # -- writing -------------------------------------------------------------------------

    def model_id(self, name: str, version: str, conn: Connection | None = None) -> int:
        """The id of model ``name`` ``version``, recorded on first use (ids never change,
        so each process asks once; only a model not yet recorded takes the write lock)."""
        key = (self.url, name, version)
        if key in _MODEL_IDS:
            return _MODEL_IDS[key]
        query = select(stream_models.c.id).where(stream_models.c.name == name,
                                                 stream_models.c.version == version)
        if conn is None:
            with self._connect() as reader:
                found = reader.scalar(query)
            if found is None:
                with write_transaction(self.engine) as writer:
                    found = self.model_id(name, version, writer)
            _MODEL_IDS[key] = int(found)
            return int(found)
        found = conn.scalar(query)
        if found is not None:
            return int(found)
        new_id = int(conn.scalar(select(func.coalesce(func.max(stream_models.c.id), 0)))) + 1
        conn.execute(insert(stream_models).values(id=new_id, name=name, version=version,
                                                  first_used=_now()))
        return new_id

    def stored_texts(self, ids: Iterable[str]) -> dict[str, tuple[int, set[str]]]:
        """``{paper id: (latest pk, digests of every stored version)}``: what ingest need
        not score."""
        with self._connect() as conn:
            return {pid: (pk, digests) for pid, (pk, _, digests)
                    in self._versions(conn, ids).items()}

    def mark_seen(self, pks: Sequence[int]) -> None:
        """Papers read again with a text already stored: only their ``last_seen`` moves
        (feeds do not change)."""
        with write_transaction(self.engine) as conn:
            _touch(conn, pks, _now())

    def store_batch(self, papers: Sequence[StreamPaper], scores: Sequence[ScoreRow | None],
                    model_id: int) -> BatchCounts:
        """Store one batch atomically: new papers and new versions with their tags, and a
        new ``last_seen`` for papers whose text is stored already (their ``scores`` may be
        None: ingest does not score them). A text the store holds in any version of the
        paper counts as seen, so re-reading a file in which an id appears twice with two
        texts changes nothing."""
        counts = BatchCounts()
        now = _now()
        stamp = _stamp(self.engine, now)
        with write_transaction(self.engine) as conn:
            known = self._versions(conn, {p.id for p in papers})
            next_pk = int(conn.scalar(select(func.coalesce(func.max(stream_papers.c.pk), 0))))
            rows, tag_rows, seen, superseded = [], [], [], []
            for paper, row in zip(papers, scores, strict=True):
                old = known.get(paper.id)
                if old is not None and paper.digest in old[2]:
                    seen.append(old[0])
                    counts.unchanged += 1
                    continue
                if row is None:
                    raise ValueError(f"{paper.id}: a new text needs its scores")
                next_pk += 1
                if old is None:
                    counts.new += 1
                else:
                    counts.versions += 1
                    superseded.append(old[0])
                version = 1 if old is None else old[1] + 1
                known[paper.id] = (next_pk, version, {paper.digest, *(old[2] if old else ())})
                rows.append((next_pk, paper.id, version, True, paper.digest, paper.title,
                             paper.abstract, paper.month, paper.date,
                             "\n".join(paper.categories), paper.source, stamp, stamp,
                             model_id, None))
                tag_rows += [(next_pk, theme, score) for theme, score in row]
            if superseded:  # an old version leaves the feeds (its row stays, as history)
                _delete_tags(conn, superseded, previous=True)
                for chunk in _chunks(superseded):
                    conn.execute(update(stream_papers).where(stream_papers.c.pk.in_(chunk))
                                 .values(latest=False))
            _insert_rows(conn, stream_papers, rows)
            _insert_rows(conn, stream_tags, tag_rows)
            _touch(conn, seen, now)
            if rows:
                _bump(conn, now)
        return counts

    def rescore_batch(self, pks: Sequence[int], scores: Sequence[ScoreRow],
                      model_id: int) -> None:
        """Replace the tags of papers ``pks`` by ``model_id``'s, atomically. Tags of another
        model become the *previous* tags (replacing older ones); a paper already scored by
        ``model_id`` keeps its previous tags, so running a retag twice loses nothing."""
        now = _now()
        with write_transaction(self.engine) as conn:
            models = dict(conn.execute(select(stream_papers.c.pk, stream_papers.c.model_id)
                                       .where(stream_papers.c.pk.in_(list(pks)))).all())
            moving = [pk for pk in pks if models.get(pk) != model_id]
            if moving:
                _delete_tags(conn, moving, previous=True, current=False)
                conn.execute(insert(stream_tags_previous).from_select(
                    ["paper_pk", "theme", "score"],
                    select(stream_tags.c.paper_pk, stream_tags.c.theme, stream_tags.c.score)
                    .where(stream_tags.c.paper_pk.in_(moving))))
                conn.execute(update(stream_papers).where(stream_papers.c.pk.in_(moving))
                             .values(previous_model_id=stream_papers.c.model_id))
            _delete_tags(conn, list(pks))
            _insert_rows(conn, stream_tags, [(pk, theme, score) for pk, row in
                                             zip(pks, scores, strict=True) for theme, score in row])
            conn.execute(update(stream_papers).where(stream_papers.c.pk.in_(list(pks)))
                         .values(model_id=model_id))
            _bump(conn, now)

    def _versions(self, conn: Connection, ids: Iterable[str]
                  ) -> dict[str, tuple[int, int, set[str]]]:
        """``{paper id: (latest pk, latest version, digests of all its versions)}``."""
        out: dict[str, tuple[int, int, set[str]]] = {}
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        for chunk in _chunks(list(ids)):
            # driver-level: on the ingest path this runs per batch, and SQLAlchemy's row and
            # IN-list processing cost more than the query
            rows = conn.exec_driver_sql(
                "SELECT paper_id, pk, version, digest, latest FROM stream_papers "
                f"WHERE paper_id IN ({', '.join(mark for _ in chunk)})", tuple(chunk))
            for paper_id, pk, version, digest, latest in rows:
                _, _, digests = entry = out.get(paper_id, (0, 0, set()))
                digests.add(digest)
                out[paper_id] = (pk, version, digests) if latest else entry
        return out

    # -- reading for retag ---------------------------------------------------------------

    def count_latest(self, since: datetime | None = None) -> int:
        query = select(func.count()).select_from(stream_papers).where(stream_papers.c.latest)
        if since is not None:
            query = query.where(stream_papers.c.first_seen >= since)
        with self._connect() as conn:
            return int(conn.scalar(query) or 0)

    def latest_papers(self, since: datetime | None = None, size: int = 512
                      ) -> Iterator[list[tuple[int, str, str, str]]]:
        """Batches of ``(pk, paper id, title, abstract)`` of every latest version (first seen
        at or after ``since``), in ``pk`` order; each page is its own short read, so writers
        are never held up by a long one."""
        last = 0
        while True:
            query = (select(stream_papers.c.pk, stream_papers.c.paper_id,
                            stream_papers.c.title, stream_papers.c.abstract)
                     .where(stream_papers.c.latest, stream_papers.c.pk > last)
                     .order_by(stream_papers.c.pk).limit(size))
            if since is not None:
                query = query.where(stream_papers.c.first_seen >= since)
            with self._connect() as conn:
                page = [tuple(row) for row in conn.execute(query)]
            if not page:
                return
            yield page  # type: ignore[misc]
            last = page[-1][0]

    def current_scores(self, pks: Sequence[int]) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {pk: {} for pk in pks}
        with self._connect() as conn:
            for chunk in _chunks(list(pks)):
                query = select(stream_tags).where(stream_tags.c.paper_pk.in_(chunk))
                for row in conn.execute(query):
                    out[row.paper_pk][row.theme] = row.score
        return out

    # -- reading for feeds, pages and digests ----------------------------------------------

    def state(self) -> FeedState:
        """Cheap: two primary-key reads."""
        with self._connect() as conn:
            row = conn.execute(select(stream_state).where(stream_state.c.id == 1)).first()
            last = conn.execute(select(decisions.c.seq, decisions.c.created_at)
                                .order_by(decisions.c.seq.desc()).limit(1)).first()
        return FeedState(row.generation if row else 0, utc(row.changed_at) if row else None,
                         last.seq if last else 0, utc(last.created_at) if last else None)

    def entries(self, themes: Sequence[str], min_score: float = TAGGED,
                limit: int | None = None, since: datetime | None = None) -> list[Entry]:
        """Latest-version papers tagged with any of ``themes`` (score at least ``min_score``,
        after reviewers' corrections), newest first, at most ``limit``; with ``since``, only
        papers first seen since then."""
        floor = max(min_score, SCORE_FLOOR)
        with self._connect() as conn:
            verdicts = self.labels.verdicts(themes, conn)
            min_pk = self._first_pk_since(conn, since) if since is not None else None
            hits: dict[int, dict[str, tuple[float | None, bool]]] = {}
            for theme in themes:
                for pk, score, confirmed in _theme_hits(conn, theme, floor, limit, min_pk,
                                                        since, verdicts[theme]):
                    hits.setdefault(pk, {})[theme] = (score, confirmed)
            chosen = sorted(hits, reverse=True)[:limit] if limit else sorted(hits, reverse=True)
            rows = {}
            for chunk in _chunks(chosen):
                query = select(stream_papers).where(stream_papers.c.pk.in_(chunk))
                rows.update({row.pk: row for row in conn.execute(query)})
        out = []
        for pk in chosen:
            row = rows[pk]
            entry = Entry(pk, row.paper_id, row.version, row.title, row.abstract, row.month,
                          row.date, tuple(filter(None, row.categories.split("\n"))),
                          utc(row.first_seen))
            for theme, (score, confirmed) in hits[pk].items():
                entry.scores[theme] = score
                if confirmed:
                    entry.confirmed.add(theme)
            out.append(entry)
        return out

    def _first_pk_since(self, conn: Connection, since: datetime) -> int:
        found = conn.scalar(select(func.min(stream_papers.c.pk))
                            .where(stream_papers.c.first_seen >= since))
        return int(found) if found is not None else 1 << 62

    def theme_counts(self, themes: Sequence[str], windows: Sequence[datetime]
                     ) -> dict[str, list[int]]:
        """Per theme, how many papers first seen in each window are tagged with it
        (corrections applied): ``windows`` are ascending start times, each window ending
        where the next starts (the last one now). Reads ids and times only, never texts."""
        counts = {theme: [0] * len(windows) for theme in themes}

        def slot(moment: datetime) -> int:
            moment = utc(moment)
            return max(i for i, begin in enumerate(windows) if moment >= begin)

        with self._connect() as conn:
            verdicts = self.labels.verdicts(themes, conn)
            tagged = (select(stream_tags.c.theme, stream_papers.c.paper_id,
                             stream_papers.c.first_seen)
                      .join(stream_papers, stream_papers.c.pk == stream_tags.c.paper_pk)
                      .where(stream_tags.c.theme.in_(list(themes)),
                             stream_tags.c.score >= TAGGED,
                             stream_papers.c.first_seen >= windows[0]))
            for theme, paper_id, first_seen in conn.execute(tagged):
                if verdicts[theme].get(paper_id, True):  # not rejected by a reviewer
                    counts[theme][slot(first_seen)] += 1
            for theme in themes:  # accepted or added by a reviewer, below 0.5 for the model
                confirmed = sorted(pid for pid, ok in verdicts[theme].items() if ok)
                for chunk in _chunks(confirmed):
                    query = (select(stream_papers.c.first_seen, stream_tags.c.score)
                             .outerjoin(stream_tags,
                                        and_(stream_tags.c.paper_pk == stream_papers.c.pk,
                                             stream_tags.c.theme == theme))
                             .where(stream_papers.c.paper_id.in_(chunk), stream_papers.c.latest,
                                    stream_papers.c.first_seen >= windows[0]))
                    for first_seen, score in conn.execute(query):
                        if score is None or score < TAGGED:
                            counts[theme][slot(first_seen)] += 1
        return counts

    # -- evidence --------------------------------------------------------------------------

    def evidence(self, pairs: Iterable[tuple[int, str]], model_id: int
                 ) -> dict[tuple[int, str], list[str]]:
        """Stored evidence phrases of ``(pk, theme)`` pairs for model ``model_id``."""
        wanted = set(pairs)
        out: dict[tuple[int, str], list[str]] = {}
        pks = sorted({pk for pk, _ in wanted})
        with self._connect() as conn:
            for chunk in _chunks(pks):
                query = select(stream_evidence).where(stream_evidence.c.paper_pk.in_(chunk),
                                                      stream_evidence.c.model_id == model_id)
                for row in conn.execute(query):
                    if (row.paper_pk, row.theme) in wanted:
                        out[(row.paper_pk, row.theme)] = json.loads(row.phrases)
        return out

    def save_evidence(self, found: dict[tuple[int, str], list[str]], model_id: int) -> None:
        """Keep computed evidence; a pair another process stored meanwhile is left as is."""
        if not found:
            return
        rows = [{"paper_pk": pk, "theme": theme, "model_id": model_id,
                 "phrases": json.dumps(phrases, ensure_ascii=False)}
                for (pk, theme), phrases in found.items()]
        with write_transaction(self.engine) as conn:
            keys = {(pk, theme) for pk, theme in found}
            existing = set()
            for chunk in _chunks(sorted({pk for pk, _ in keys})):
                query = select(stream_evidence.c.paper_pk, stream_evidence.c.theme).where(
                    stream_evidence.c.paper_pk.in_(chunk), stream_evidence.c.model_id == model_id)
                existing |= {tuple(r) for r in conn.execute(query)}
            rows = [r for r in rows if (r["paper_pk"], r["theme"]) not in existing]
            if rows:
                conn.execute(insert(stream_evidence), rows)


def _theme_hits(conn: Connection, theme: str, floor: float, limit: int | None,
                min_pk: int | None, since: datetime | None, verdicts: dict[str, bool]
                ) -> list[tuple[int, float | None, bool]]:
    """``(pk, score, confirmed by a reviewer)`` of one theme's papers, newest first: the
    model's tags at or above ``floor`` minus the papers a reviewer rejected for the theme,
    plus those a reviewer accepted or added, whatever their score."""
    rejected = {pid for pid, ok in verdicts.items() if not ok}
    confirmed = {pid for pid, ok in verdicts.items() if ok}
    query = (select(stream_tags.c.paper_pk, stream_tags.c.score, stream_papers.c.paper_id)
             .join(stream_papers, stream_papers.c.pk == stream_tags.c.paper_pk)
             .where(stream_tags.c.theme == theme, stream_tags.c.score >= floor)
             .order_by(stream_tags.c.paper_pk.desc()))
    if min_pk is not None:
        query = query.where(stream_tags.c.paper_pk >= min_pk,
                            stream_papers.c.first_seen >= since)
    if limit is not None:
        query = query.limit(limit + len(rejected))
    hits = {pk: (score, pid in confirmed) for pk, score, pid in conn.execute(query)
            if pid not in rejected}
    for chunk in _chunks(sorted(confirmed)):
        query = (select(stream_papers.c.pk, stream_tags.c.score)
                 .outerjoin(stream_tags, and_(stream_tags.c.paper_pk == stream_papers.c.pk,
                                              stream_tags.c.theme == theme))
                 .where(stream_papers.c.paper_id.in_(chunk), stream_papers.c.latest))
        if since is not None:
            query = query.where(stream_papers.c.first_seen >= since)
        for pk, score in conn.execute(query):
            hits[pk] = (score, True)
    return sorted(((pk, s, c) for pk, (s, c) in hits.items()), reverse=True)[:limit]


def _delete_tags(conn: Connection, pks: Sequence[int], previous: bool = False,
                 current: bool = True) -> None:
    tables = ([stream_tags] if current else []) + ([stream_tags_previous] if previous else [])
    for table in tables:
        for chunk in _chunks(list(pks)):
            conn.execute(table.delete().where(table.c.paper_pk.in_(chunk)))


def _touch(conn: Connection, pks: Sequence[int], now: datetime) -> None:
    for chunk in _chunks(list(pks)):
        conn.execute(update(stream_papers).where(stream_papers.c.pk.in_(chunk))
                     .values(last_seen=now))


def _bump(conn: Connection, now: datetime) -> None:
    """Count one change of what feeds show (their ETag and Last-Modified move)."""
    done = conn.execute(update(stream_state).where(stream_state.c.id == 1)
                        .values(generation=stream_state.c.generation + 1, changed_at=now))
    if not done.rowcount:
        conn.execute(insert(stream_state).values(id=1, generation=1, changed_at=now))


def _insert_rows(conn: Connection, table, rows: list[tuple]) -> None:
    """``rows`` (tuples in the table's column order) in one driver-level executemany: the
    bulk path, without SQLAlchemy's per-row parameter processing (a third of ingest's time
    in the parent)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(column.name for column in table.columns)
    marks = ", ".join(mark for _ in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


def _stamp(engine: Engine, moment: datetime) -> datetime | str:
    """A timestamp as the driver-level insert needs it: SQLite stores what SQLAlchemy's
    ``DateTime`` reads back (naive UTC text), PostgreSQL takes the aware datetime."""
    if engine.dialect.name == "sqlite":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _sqlite_bulk(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint=16384")  # checkpoint (and sync) every 64 MiB
    cursor.close()


def _now() -> datetime:
    return datetime.now(UTC)
