"""The review page (``/review``) and the small JSON API it drives: the next paper from the
queue with the model's suggestions and evidence, one paper's state, undo, progress. Decisions
themselves go through ``POST /v1/feedback``. Everything needs a reviewer token; with none
configured every route answers 404 (see :mod:`tagger.api.views.reviewers`).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from tagger.api.errors import ApiError
from tagger.api.views.common import current_tagger, json_response, model_ref
from tagger.api.views.docs import render_page
from tagger.api.views.reviewers import require_enabled, review_settings, reviewer
from tagger.corpus import Document

bp = Blueprint("review", __name__)


@bp.get("/review")
def review_page() -> Response:
    require_enabled()
    return Response(render_page("review.html"), mimetype="text/html")


def _paper_view(paper_id: str, name: str) -> dict:
    store = review_settings().store()
    paper = store.paper(paper_id)
    if paper is None:
        raise ApiError(404, f"No paper {paper_id!r} in the label store.")
    tagger = current_tagger()
    document = Document(id=paper.id, title=paper.title, abstract=paper.abstract)
    result = tagger.tag([document], explain_tags=True, all_scores=True)[0]
    rows = store.decisions(paper_id)
    undone = {d.undoes for d in rows if d.undoes is not None}
    current: dict[str, str] = {}
    for decision in rows:  # in the order written: the last decision per theme wins
        if decision.action != "undo" and decision.seq not in undone:
            current[decision.theme] = decision.action
    return {"paper": {"id": paper.id, "title": paper.title, "abstract": paper.abstract,
                      "source": paper.source},
            "suggestions": result["tags"], "scores": result["scores"],
            "evidence": result.get("evidence", {}), "decisions": current,
            "progress": store.progress(name), "model": model_ref(tagger)}


@bp.get("/v1/review/next")
def next_paper() -> Response:
    """The most informative queued paper nobody reviewed (``skip`` ids excluded)."""
    from tagger.review.queue import next_batch
    from tagger.review.strategies import DEFAULT_STRATEGY, STRATEGIES

    name = reviewer()
    strategy = request.args.get("strategy", DEFAULT_STRATEGY)
    if strategy not in STRATEGIES:
        raise ApiError(422, f"Unknown strategy {strategy!r}.",
                       details={"strategy": [f"One of {', '.join(STRATEGIES)}."]})
    skip = set(filter(None, request.args.get("skip", "").split(",")))
    store = review_settings().store()
    batch = next_batch(store, current_tagger(), n=len(skip) + 1, strategy=strategy)
    batch = [item for item in batch if item["id"] not in skip]
    if not batch:
        return json_response({"paper": None, "progress": store.progress(name)})
    return json_response(_paper_view(batch[0]["id"], name))


@bp.get("/v1/review/papers/<path:paper_id>")
def paper(paper_id: str) -> Response:
    return json_response(_paper_view(paper_id, reviewer()))


@bp.post("/v1/review/undo")
def undo() -> Response:
    """Cancel this reviewer's latest decision still in force (an appended undo record)."""
    name = reviewer()
    store = review_settings().store()
    undone = store.undo_last(name)
    if undone is None:
        raise ApiError(409, "Nothing to undo.", code="nothing_to_undo")
    return json_response({"undone": {"id": undone.paper_id, "theme": undone.theme,
                                     "action": undone.action},
                          "progress": store.progress(name)})


@bp.get("/v1/review/progress")
def progress() -> Response:
    name = reviewer()
    return json_response({"reviewer": name, **review_settings().store().progress(name)})
