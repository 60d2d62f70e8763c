"""Papers and review decisions: append, derive current labels (last decision wins), list
conflicts between reviewers, undo by appending.

Semantics. A decision names a paper, a theme id and an action: ``accept`` (a suggested tag
is right), ``reject`` (a suggested tag is wrong) or ``add`` (a missed theme). ``undo`` rows
cancel one earlier decision. For each (paper, theme) the latest decision that is not undone
wins; a paper with at least one such decision is *reviewed*, and its labels are exactly the
themes whose winning decision is accept or add (a suggestion nobody accepted is no label).
A *conflict* is a (paper, theme) where reviewers' own latest decisions disagree.

Imported labels (``tagger labels import``) are decisions too, by the reviewer
``import:SOURCE``: one ``add`` per tag and one ``reject`` per other theme, so a paper without
any theme is reviewed too. A later review overrides them like any later decision, and a
re-import appends only what changed in that source, so it never undoes a review.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, insert, select

from tagger.corpus import Document
from tagger.store.db import write_transaction
from tagger.store.schema import decisions, papers

ACTIONS = ("accept", "reject", "add")
POSITIVE = frozenset({"accept", "add"})
IMPORT_PREFIX = "import:"  # the reviewer name of imported labels: import:SOURCE
IMPORT_BATCH = 1000  # papers per transaction of an import


@dataclass(frozen=True)
class ImportResult:
    """What one ``import_labels`` call stored: new papers, decisions appended and papers whose
    labels from this source were already the same."""

    papers_new: int
    decisions: int
    unchanged: int


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    source: str = ""


@dataclass(frozen=True)
class Decision:
    seq: int
    paper_id: str
    theme: str
    action: str
    reviewer: str
    created_at: datetime
    model_version: str | None
    undoes: int | None
    batch: str


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; every one was written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _decision(row) -> Decision:
    return Decision(row.seq, row.paper_id, row.theme, row.action, row.reviewer,
                    _utc(row.created_at), row.model_version, row.undoes, row.batch)


class LabelStore:
    """All reads and writes of the review loop go through this class."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # -- papers ---------------------------------------------------------------------------

    def add_papers(self, documents: Iterable[Document | Paper], queued: bool = True,
                   source: str = "") -> int:
        """Insert papers not yet stored (by id) and, with ``queued``, put them in the review
        queue; returns how many were new. Stored text is never overwritten."""
        docs = list(documents)
        if not docs:
            return 0
        with write_transaction(self.engine) as conn:
            new, known = self._insert_new_papers(conn, docs, source, queued=queued)
            if queued and known:
                conn.execute(papers.update().where(papers.c.id.in_(list(known)))
                             .values(queued=True))
        return new

    def paper(self, paper_id: str) -> Paper | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(papers).where(papers.c.id == paper_id)).first()
        return Paper(row.id, row.title, row.abstract, row.source) if row else None

    def queued_papers(self, include_reviewed: bool = False) -> list[Paper]:
        """Papers in the queue, oldest first; by default only those nobody reviewed yet."""
        query = select(papers).where(papers.c.queued.is_(True))
        if not include_reviewed:
            query = query.where(papers.c.id.not_in(self._reviewed_ids_query()))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(papers.c.added_at, papers.c.id)).all()
        return [Paper(r.id, r.title, r.abstract, r.source) for r in rows]

    def _reviewed_ids_query(self):
        undone = select(decisions.c.undoes).where(decisions.c.undoes.is_not(None))
        return (select(decisions.c.paper_id)
                .where(decisions.c.action.in_(ACTIONS), decisions.c.seq.not_in(undone))
                .distinct())

    # -- decisions ------------------------------------------------------------------------

    def record(self, paper: Document | Paper | None, items: Sequence[tuple[str, str]],
               reviewer: str, model_version: str | None = None,
               paper_id: str | None = None) -> list[int]:
        """Append decisions ``[(theme, action), ...]`` about one paper atomically (all or
        none), storing the paper first if it is given and new; returns their sequence
        numbers."""
        for theme, action in items:
            if action not in ACTIONS:
                raise ValueError(f"unknown action {action!r} for {theme!r}")
        pid = paper.id if paper is not None else paper_id
        if pid is None:
            raise ValueError("a paper or a paper id is required")
        batch = uuid.uuid4().hex
        with write_transaction(self.engine) as conn:
            if paper is not None:
                exists = conn.scalar(select(func.count()).select_from(papers)
                                     .where(papers.c.id == pid))
                if not exists:
                    conn.execute(insert(papers).values(
                        id=pid, title=paper.title or "", abstract=paper.abstract,
                        source=getattr(paper, "source", "") or "", queued=False,
                        added_at=_now()))
            now = _now()
            seqs = []
            for theme, action in items:
                result = conn.execute(insert(decisions).values(
                    paper_id=pid, theme=theme, action=action, reviewer=reviewer,
                    created_at=now, model_version=model_version, undoes=None, batch=batch))
                seqs.append(int(result.inserted_primary_key[0]))
        return seqs

    def import_labels(self, documents: Iterable[Document], source: str,
                      themes: Sequence[str]) -> ImportResult:
        """Store labelled documents as decisions of ``import:SOURCE`` over ``themes`` (add for
        each tag, reject for every other theme), in transactions of :data:`IMPORT_BATCH`
        papers. Idempotent: a paper whose labels from this source are unchanged adds nothing;
        a changed one appends decisions for the changed themes only."""
        reviewer = IMPORT_PREFIX + source
        last: dict[tuple[str, str], bool] = {}
        for d in self._effective():
            if d.reviewer == reviewer:
                last[(d.paper_id, d.theme)] = d.action in POSITIVE
        docs = list(documents)
        new = appended = unchanged = 0
        for start in range(0, len(docs), IMPORT_BATCH):
            chunk = docs[start:start + IMPORT_BATCH]
            rows = []
            now = _now()
            for doc in chunk:
                tags = set(doc.tags or ())
                changed = [(t, "add" if t in tags else "reject") for t in themes
                           if last.get((doc.id, t)) != (t in tags)]
                if not changed:
                    unchanged += 1
                    continue
                batch = uuid.uuid4().hex
                rows += [{"paper_id": doc.id, "theme": t, "action": a, "reviewer": reviewer,
                          "created_at": now, "model_version": None, "undoes": None,
                          "batch": batch} for t, a in changed]
                for t, _a in changed:
                    last[(doc.id, t)] = t in tags
            with write_transaction(self.engine) as conn:
                new += self._insert_new_papers(conn, chunk, source, own_source=False)[0]
                if rows:
                    conn.execute(insert(decisions), rows)
            appended += len(rows)
        return ImportResult(new, appended, unchanged)

    def _insert_new_papers(self, conn, docs: Sequence[Document | Paper], source: str,
                           queued: bool = False,
                           own_source: bool = True) -> tuple[int, set[str]]:
        """Insert the papers of ``docs`` not stored yet (each stored text is never
        overwritten); returns how many were new and the ids that were already stored. A paper's
        source is its own (``own_source``), else ``source``."""
        ids = list({d.id for d in docs})
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            known |= set(conn.scalars(select(papers.c.id)
                                      .where(papers.c.id.in_(ids[start:start + 500]))))
        rows, seen = [], set()
        for d in docs:
            if d.id in known or d.id in seen:
                continue
            seen.add(d.id)
            paper_source = (getattr(d, "source", "") if own_source else "") or source
            rows.append({"id": d.id, "title": d.title or "", "abstract": d.abstract,
                         "source": paper_source, "queued": queued, "added_at": _now()})
        if rows:
            conn.execute(insert(papers), rows)
        return len(rows), known

    def undo_last(self, reviewer: str) -> Decision | None:
        """Cancel ``reviewer``'s latest decision that is still in force by appending an undo
        record; returns the cancelled decision (None when there is nothing to undo)."""
        with write_transaction(self.engine) as conn:
            undone = select(decisions.c.undoes).where(decisions.c.undoes.is_not(None))
            row = conn.execute(
                select(decisions)
                .where(decisions.c.reviewer == reviewer, decisions.c.action.in_(ACTIONS),
                       decisions.c.seq.not_in(undone))
                .order_by(decisions.c.seq.desc()).limit(1)).first()
            if row is None:
                return None
            conn.execute(insert(decisions).values(
                paper_id=row.paper_id, theme=row.theme, action="undo", reviewer=reviewer,
                created_at=_now(), model_version=row.model_version, undoes=row.seq,
                batch=uuid.uuid4().hex))
        return _decision(row)

    def decisions(self, paper_id: str | None = None) -> list[Decision]:
        """Every row, undo records included, in the order written."""
        query = select(decisions).order_by(decisions.c.seq)
        if paper_id is not None:
            query = query.where(decisions.c.paper_id == paper_id)
        with self.engine.connect() as conn:
            return [_decision(r) for r in conn.execute(query)]

    def _effective(self, paper_id: str | None = None) -> list[Decision]:
        rows = self.decisions(paper_id)
        undone = {d.undoes for d in rows if d.undoes is not None}
        return [d for d in rows if d.action in ACTIONS and d.seq not in undone]

    # -- derived views --------------------------------------------------------------------

    def verdicts(self, themes: Iterable[str], connection=None) -> dict[str, dict[str, bool]]:
        """``{theme: {paper id: True (accept or add) | False (reject)}}`` for ``themes``: the
        decision in force per (paper, theme), by the same rule as :meth:`labels` (the latest
        decision not undone). Read per theme through ``ix_decisions_theme``, so a feed does not
        read every decision ever made; ``connection`` reuses the caller's."""
        themes = list(dict.fromkeys(themes))
        undone = select(decisions.c.undoes).where(decisions.c.undoes.is_not(None))
        query = (select(decisions.c.paper_id, decisions.c.theme, decisions.c.action)
                 .where(decisions.c.theme.in_(themes), decisions.c.action.in_(ACTIONS),
                        decisions.c.seq.not_in(undone))
                 .order_by(decisions.c.seq))
        out: dict[str, dict[str, bool]] = {theme: {} for theme in themes}
        if connection is None:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        else:
            rows = connection.execute(query).all()
        for paper_id, theme, action in rows:  # in seq order: the later decision wins
            out[theme][paper_id] = action in POSITIVE
        return out

    def current_labels(self, paper_id: str) -> set[str] | None:
        """The paper's themes by last decision wins; None if nobody reviewed it."""
        labels = self.labels(paper_id)
        return labels.get(paper_id)

    def labels(self, paper_id: str | None = None) -> dict[str, set[str]]:
        """``{paper id: themes}`` for every reviewed paper (last decision wins)."""
        last: dict[tuple[str, str], Decision] = {}
        for d in self._effective(paper_id):
            last[(d.paper_id, d.theme)] = d  # rows come in seq order: the later one wins
        out: dict[str, set[str]] = defaultdict(set)
        for (pid, theme), d in last.items():
            out[pid]
            if d.action in POSITIVE:
                out[pid].add(theme)
        return dict(out)

    def conflicts(self) -> list[dict]:
        """(paper, theme) pairs where reviewers' own latest decisions disagree:
        ``{"paper_id", "theme", "reviewers": {name: action}, "current": action}``."""
        per_reviewer: dict[tuple[str, str], dict[str, Decision]] = defaultdict(dict)
        for d in self._effective():
            per_reviewer[(d.paper_id, d.theme)][d.reviewer] = d
        out = []
        for (pid, theme), by_reviewer in per_reviewer.items():
            if len({d.action in POSITIVE for d in by_reviewer.values()}) > 1:
                latest = max(by_reviewer.values(), key=lambda d: d.seq)
                out.append({"paper_id": pid, "theme": theme,
                            "reviewers": {r: d.action for r, d in sorted(by_reviewer.items())},
                            "current": latest.action})
        return sorted(out, key=lambda c: (c["paper_id"], c["theme"]))

    def export(self) -> Iterator[dict]:
        """Reviewed papers with their current labels, as training records
        ``{"id", "title", "abstract", "tags", "source", "reviewers", "last_reviewed"}``,
        ordered by id."""
        effective = self._effective()
        labels = self.labels()
        meta: dict[str, dict] = {}
        for d in effective:
            entry = meta.setdefault(d.paper_id, {"reviewers": set(), "last": d.created_at})
            entry["reviewers"].add(d.reviewer)
            entry["last"] = max(entry["last"], d.created_at)
        ids = sorted(labels)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = conn.execute(select(papers).where(papers.c.id.in_(chunk))
                                    .order_by(papers.c.id)).all()
                for row in rows:
                    yield {"id": row.id, "title": row.title, "abstract": row.abstract,
                           "tags": sorted(labels[row.id]), "source": row.source,
                           "reviewers": len(meta[row.id]["reviewers"]),
                           "last_reviewed": meta[row.id]["last"].isoformat()}

    def progress(self, reviewer: str, now: datetime | None = None) -> dict:
        """``{"reviewed_today": papers this reviewer decided on since 00:00 UTC,
        "in_queue": queued papers nobody reviewed yet}``."""
        now = now or _now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        undone = select(decisions.c.undoes).where(decisions.c.undoes.is_not(None))
        with self.engine.connect() as conn:
            today = conn.scalar(
                select(func.count(func.distinct(decisions.c.paper_id)))
                .where(and_(decisions.c.reviewer == reviewer,
                            decisions.c.action.in_(ACTIONS),
                            decisions.c.seq.not_in(undone),
                            decisions.c.created_at >= midnight)))
            queued = conn.scalar(
                select(func.count()).select_from(papers)
                .where(papers.c.queued.is_(True),
                       papers.c.id.not_in(self._reviewed_ids_query())))
        return {"reviewed_today": int(today or 0), "in_queue": int(queued or 0)}

    def stats(self) -> dict:
        """Counts for a model card: reviewed papers, decisions, reviewers (a count, never
        names; imports are not reviewers), first and last decision time, and per imported
        source the papers it labelled (``imported``: ``{source: papers}``)."""
        effective = self._effective()
        if not effective:
            return {"papers": 0, "decisions": 0, "reviewers": 0, "first": None, "last": None,
                    "imported": {}}
        imported: dict[str, set[str]] = defaultdict(set)
        for d in effective:
            if d.reviewer.startswith(IMPORT_PREFIX):
                imported[d.reviewer[len(IMPORT_PREFIX):]].add(d.paper_id)
        return {"papers": len({d.paper_id for d in effective}), "decisions": len(effective),
                "reviewers": len({d.reviewer for d in effective
                                  if not d.reviewer.startswith(IMPORT_PREFIX)}),
                "first": min(d.created_at for d in effective).isoformat(),
                "last": max(d.created_at for d in effective).isoformat(),
                "imported": {name: len(ids) for name, ids in sorted(imported.items())}}
