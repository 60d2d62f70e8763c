"""The time-split protocol never trains on a paper newer than (or as new as) the ones it scores;
``tagger evaluate --by month`` gives F1 per theme per period."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from tagger.corpus import Document, read_documents
from tagger.taxonomy import load_taxonomy
from tagger.training import time_split
from tagger.training.time_split import UNDATED, TimeSplit, run_time_split, time_splits
from tests.conftest import REPO, make_labelled_corpus, write_jsonl

MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]


def dated_corpus(n: int = 200) -> list[dict]:
    """The generated labelled corpus spread over five months; every 25th record undated."""
    records = make_labelled_corpus(n=n, seed=11)
    for i, record in enumerate(records):
        if i % 25 != 24:
            record["month"] = MONTHS[i * len(MONTHS) // n]
    return records


def _check_months(split: TimeSplit, periods: list[str]) -> None:
    train = [periods[i] for i in split.train]
    test = [periods[i] for i in split.test]
    assert UNDATED not in train and UNDATED not in test
    assert max(train) < min(test)  # never a paper newer than, or as new as, a scored one


def test_splits_never_train_on_the_future():
    periods = [MONTHS[i % 5] for i in range(50)] + [UNDATED] * 5
    plan = time_splits(periods, splits=3, test_periods=1)
    assert [s.test_periods for s in plan] == [["2025-03"], ["2025-04"], ["2025-05"]]
    for split in plan:
        _check_months(split, periods)
        # Everything older is used: training grows as the origin rolls forward.
        assert len(split.train) == 10 * MONTHS.index(split.test_periods[0])
    windows = time_splits(periods, splits=5, test_periods=2)
    assert [s.test_periods for s in windows] == [["2025-02", "2025-03"],
                                                 ["2025-04", "2025-05"]]
    for split in windows:
        _check_months(split, periods)


def test_splits_by_quarter_and_too_little_history():
    periods = ["2024-Q4"] * 3 + ["2025-Q1"] * 3
    (only,) = time_splits(periods, splits=4)
    assert only.test_periods == ["2025-Q1"] and only.train == [0, 1, 2]
    assert time_splits(periods, splits=1, min_train=4) == []
    assert time_splits(["2025-01"] * 5) == []
    with pytest.raises(ValueError):
        time_splits(periods, splits=0)


def test_protocol_trains_only_on_older_papers(tmp_path, monkeypatch):
    """Run the protocol with a real model per window, recording what each model trained on."""
    path = write_jsonl(tmp_path / "dated.jsonl", dated_corpus())
    documents = list(read_documents(path, labelled=True))
    month_of = {d.id: d.month for d in documents}
    unlabelled = [Document(id=f"u{i}", abstract="forecasting a seasonal horizon", month=m)
                  for i, m in enumerate(MONTHS * 4)] + [
        Document(id="u-undated", abstract="telescope spectra")]
    seen: list[tuple[list[str], list[str]]] = []
    from tagger.training import fit

    real = fit.train_tagger

    def spy(train_docs, taxonomy, **kwargs):
        seen.append(([d.month for d in train_docs], [d.month for d in kwargs["unlabelled"]]))
        return real(train_docs, taxonomy, **kwargs)

    monkeypatch.setattr(fit, "train_tagger", spy)
    result = run_time_split(documents, load_taxonomy(), splits=2, unlabelled=unlabelled,
                            min_train=20)
    assert [row["test_periods"] for row in result["splits"]] == [["2025-04"], ["2025-05"]]
    assert result["undated_documents"] == 8
    for (train_months, pool_months), row in zip(seen, result["splits"], strict=True):
        first_scored = row["test_periods"][0]
        assert train_months and all(m and m < first_scored for m in train_months)
        assert pool_months and all(m and m < first_scored for m in pool_months)
        assert row["train_documents"] == sum(1 for m in month_of.values()
                                             if m and m < first_scored)
    assert result["pooled"]["n_documents"] == sum(r["test_documents"] for r in result["splits"])
    assert result["pooled"]["micro_f1"] > 0.5  # the generated themes are learnable


def test_past_documents_join_every_training_window_and_are_never_scored(tmp_path,
                                                                        monkeypatch):
    """``past``: undated gold sets known to predate the feed train every window (with the
    undated ``past_unlabelled`` papers in the LSA pool) and are never scored."""
    path = write_jsonl(tmp_path / "dated.jsonl", dated_corpus())
    documents = list(read_documents(path, labelled=True))
    past = [Document(id=f"gold{i}", abstract=r["abstract"], title=r["title"],
                     tags=tuple(r["tags"])) for i, r in enumerate(make_labelled_corpus(n=30))]
    old_pool = [Document(id="u-old", abstract="an undated abstract from before the feed")]
    seen: list[tuple[set[str], set[str]]] = []
    from tagger.training import fit

    real = fit.train_tagger

    def spy(train_docs, taxonomy, **kwargs):
        seen.append(({d.id for d in train_docs}, {d.id for d in kwargs["unlabelled"]}))
        return real(train_docs, taxonomy, **kwargs)

    monkeypatch.setattr(fit, "train_tagger", spy)
    result = run_time_split(documents, load_taxonomy(), splits=2, past=past,
                            past_unlabelled=old_pool)
    assert result["past_documents"] == 30
    gold_ids = {d.id for d in past}
    for (train_ids, pool_ids), row in zip(seen, result["splits"], strict=True):
        assert gold_ids <= train_ids and "u-old" in pool_ids
        assert row["train_documents"] == 30 + sum(
            1 for d in documents if d.month and d.month < row["test_periods"][0])
    assert result["pooled"]["n_documents"] == sum(r["test_documents"] for r in result["splits"])


def test_protocol_refuses_undated_labels(tmp_path):
    records = make_labelled_corpus(n=30)
    path = write_jsonl(tmp_path / "undated.jsonl", records)
    with pytest.raises(ValueError, match="none of the 30 labelled documents has a month"):
        run_time_split(list(read_documents(path, labelled=True)), load_taxonomy())
    result = subprocess.run(
        [sys.executable, "-m", "tagger.training.time_split", "--data", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=300, env=dict(os.environ))
    assert result.returncode == 1 and "has a month" in result.stderr


def test_dates_side_table(tmp_path):
    docs = [Document(id="a", abstract="x"), Document(id="b", abstract="y")]
    dates = tmp_path / "dates.jsonl"
    dates.write_text('{"id": "a", "month": "2025-02"}\n', encoding="utf-8")
    assert [d.month for d in time_split.attach_months(docs, dates)] == ["2025-02", ""]
    dates.write_text('{"id": "a", "month": "Feb 2025"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"dates.jsonl:1: bad month"):
        time_split.attach_months(docs, dates)
    dates.write_text('\n{"id": "a", "month": "2025-02"}\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r'dates.jsonl:3: expected \{"id", "month"\}'):
        time_split.attach_months(docs, dates)


def test_evaluate_by_month(tmp_path, small_model):
    path = write_jsonl(tmp_path / "dated.jsonl", dated_corpus(100))
    result = subprocess.run(
        [sys.executable, "-m", "tagger", "evaluate", "--data", str(path), "--model",
         str(small_model), "--by", "month", "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    by_period = json.loads(result.stdout)["by_period"]
    assert [row["period"] for row in by_period["periods"]] == [*MONTHS, UNDATED]
    assert sum(row["n_documents"] for row in by_period["periods"]) == 100
    first = by_period["periods"][0]
    assert set(first["per_theme"]) == set(load_taxonomy().ids)
    assert first["per_theme"]["time-series"]["support"] > 0
    text = subprocess.run(
        [sys.executable, "-m", "tagger", "evaluate", "--data", str(path), "--model",
         str(small_model), "--by", "month"],
        capture_output=True, text=True, cwd=REPO, timeout=300, env=dict(os.environ))
    assert "F1 by month" in text.stdout and "2025-05" in text.stdout


def test_evaluate_by_period_in_process(small_model):
    from tagger.artifact import load_model

    tagger = load_model(small_model)
    docs = [Document(id=str(i), title="Forecasting", abstract="seasonal forecasting horizon",
                     tags=("time-series",), month=m) for i, m in enumerate(MONTHS[:2] * 2)]
    docs.append(replace(docs[0], id="x", month=""))
    result = time_split.evaluate_by_period(tagger, docs, by="quarter")
    assert [(r["period"], r["n_documents"]) for r in result["periods"]] == [
        ("2025-Q1", 4), (UNDATED, 1)]


def test_date_evidence_counts_months_and_year_mentions(tmp_path):
    path = write_jsonl(tmp_path / "labels.jsonl", [
        {"id": "1", "source": "s-a", "abstract": "Results on the 2019 and 2023 challenges.",
         "tags": []},
        {"id": "2", "source": "s-a", "abstract": "No year at all.", "tags": []},
        {"id": "3", "source": "s-b", "abstract": "Dated.", "month": "2025-02", "tags": []},
    ])
    evidence = time_split.date_evidence([str(path)])
    assert evidence["labels.jsonl s-a"] == {"records": 2, "with_month": 0, "mention_a_year": 1,
                                            "latest_year_mentioned": {2023: 1}}
    assert evidence["labels.jsonl s-b"]["with_month"] == 1
    assert "s-a" in time_split.format_date_evidence(evidence)
