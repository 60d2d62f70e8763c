"""The drift report (``tagger report``): a generated feed where one theme's share jumps in the
last month, scored by a real model trained on generated data, through the real CLI."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.corpus import Document
from tagger.training import drift
from tests.conftest import FILLER, OFF_TOPIC, REPO, THEME_WORDS, write_jsonl

MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]
PAPERS_PER_MONTH = 400
JUMPING = "time-series"


def make_feed(seed: int = 3) -> list[dict]:
    """Each paper is about one theme or off-topic. Every theme is 10% of every month, except
    time series: 10% in the first three months, 40% in the last (taken from off-topic)."""
    rng = random.Random(seed)
    records = []
    for month in MONTHS:
        for i in range(PAPERS_PER_MONTH):
            u = rng.random()
            p_jump = 0.4 if month == MONTHS[-1] else 0.1
            others = [t for t in THEME_WORDS if t != JUMPING]
            if u < p_jump:
                theme = JUMPING
            elif u < p_jump + 0.3:
                theme = others[int((u - p_jump) / 0.1)]
            else:
                theme = None
            vocabulary = THEME_WORDS[theme] if theme else OFF_TOPIC
            words = [rng.choice(vocabulary if rng.random() < 0.3 else FILLER) for _ in range(60)]
            records.append({
                "id": f"feed-{month}-{i:04d}", "month": month, "categories": ["cs.LG"],
                "title": " ".join(rng.choice(vocabulary) for _ in range(4)).capitalize(),
                "abstract": " ".join(words).capitalize() + ".",
            })
    return records


def run_tagger(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagger", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=600, env=dict(os.environ))


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """The generated feed with two bad records; returns the path and the bad lines."""
    records = make_feed()
    path = tmp_path_factory.mktemp("feed") / "feed.jsonl"
    write_jsonl(path, records)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(10, '{"id": "broken", "abstract": \n')
    lines.insert(20, json.dumps({"id": "undated", "abstract": "No month here."}) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path, {"broken": 11, "undated": 21}


@pytest.fixture(scope="module")
def report_run(feed, small_model, tmp_path_factory):
    path, _bad = feed
    out = tmp_path_factory.mktemp("report")
    result = run_tagger("report", str(path), "--model", str(small_model), "--json",
                        "--html", str(out / "drift.html"), "--reference-periods", "2",
                        "--min-papers", "100", "--quiet")
    return result, out


def test_the_jump_is_flagged_and_nothing_else(report_run):
    result, _out = report_run
    report = json.loads(result.stdout)
    assert report["reference"]["periods"] == MONTHS[:2]
    flagged = {(f["period"], f["theme"], f["kind"]) for f in report["flags"]}
    assert (MONTHS[-1], JUMPING, "rate") in flagged
    assert {theme for _period, theme, _kind in flagged} == {JUMPING}
    assert {period for period, _theme, _kind in flagged} == {MONTHS[-1]}
    last = report["periods"][-1]
    assert last["themes"][JUMPING]["share"] > 3 * report["reference"]["share"][JUMPING]
    # Every month is counted, the good records all scored.
    assert [p["papers"] for p in report["periods"]] == [PAPERS_PER_MONTH] * len(MONTHS)


def test_bad_records_are_reported_with_file_and_line_and_exit_3(feed, report_run):
    path, bad = feed
    result, _out = report_run
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert [int(line.split(":")[1]) for line in errors] == [bad["broken"], bad["undated"]]
    assert result.stderr.strip().splitlines()[-1] == (
        f"scored {PAPERS_PER_MONTH * len(MONTHS)}, skipped 2")


def test_html_and_png_outputs_exist_and_are_self_contained(report_run):
    _result, out = report_run
    page = (out / "drift.html").read_text(encoding="utf-8")
    pngs = sorted(out.glob("drift-*.png"))
    assert [p.name for p in pngs] == ["drift-psi.png", "drift-scores.png", "drift-share.png",
                                      "drift-volume.png"]
    for png in pngs:
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000
    assert page.count("src=\"data:image/png;base64,") == 4
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert JUMPING in page


def test_text_summary_and_usage_errors(feed, small_model):
    path, _bad = feed
    result = run_tagger("report", str(path), "--model", str(small_model), "--by", "quarter",
                        "--min-papers", "100", "--quiet")
    assert result.returncode == 3
    # One quarter only: it is its own reference, nothing can be judged or flagged.
    assert "2025-Q1" in result.stdout and "no flags" in result.stdout
    bad = run_tagger("report", str(path), "--model", str(small_model), "--months", "2025-13:")
    assert bad.returncode == 2 and "not a month" in bad.stderr


# --- the computation, in process -------------------------------------------------------------


def test_psi_and_rate_test_behave():
    hist = np.array([500, 300, 150, 50])
    assert drift.psi(hist, hist) == pytest.approx(0.0)
    assert drift.psi(hist, hist[::-1]) > 1.0
    ratio, low, high, z = drift.rate_test(100, 1000, 100, 1000)
    assert ratio == pytest.approx(1.0) and z == 0 and low < 1 < high
    ratio, low, high, z = drift.rate_test(100, 1000, 300, 1000)
    assert ratio > 2.9 and z > 10 and 1.5 < low < ratio < high
    # The same ratio on few papers is not confidently beyond x1.5.
    _ratio, low, _high, _z = drift.rate_test(10, 100, 30, 100)
    assert low < 1.5


def test_histogram_quantiles_match_numpy():
    rng = np.random.default_rng(0)
    scores = 1 / (1 + np.exp(-rng.normal(-4, 2, size=(20000, 1))))
    stats = drift.PeriodStats(1)
    stats.add(scores, np.zeros(20000, int), np.ones(20000, int), [""] * 20000)
    for q in drift.QUANTILES:
        exact = float(np.quantile(scores, q))
        assert drift.histogram_quantile(stats.logit_hist[0], q) == pytest.approx(exact, rel=0.05)
    assert stats.score_sum[0] / stats.papers == pytest.approx(scores.mean())


def test_sample_per_period_is_bounded_seeded_and_spans_the_months():
    docs = [Document(id=str(i), abstract="x", title="") for i in range(10)]
    dated = [(m, d) for m in MONTHS for d in docs]

    class Dated:
        def __init__(self, month, doc):
            self.month, self.id, self.title, self.abstract = month, doc.id, "", "x"

    records = [Dated(m, d) for m, d in dated]
    first = [(d.month, d.id) for d in drift.sample_per_period(records, 3, "month", seed=1)]
    again = [(d.month, d.id) for d in drift.sample_per_period(records, 3, "month", seed=1)]
    assert first == again
    assert [m for m, _ in first] == [m for m in MONTHS for _ in range(3)]
    assert len({(m, i) for m, i in first}) == len(first)


def test_vocabulary_comes_from_the_model(small_model):
    from tagger.artifact import load_model

    vocabulary = drift.model_vocabulary(load_model(small_model))
    assert "forecast" in vocabulary and "galaxy" in vocabulary
    assert all(" " not in word for word in vocabulary)
    docs = [Document(id="a", title="Forecasting", abstract="Zyxwv forecasting qwertyuiop.")]
    unknown, content = drift.oov_counts(docs, vocabulary)
    assert (int(unknown[0]), int(content[0])) == (2, 4)


def test_worker_processes_give_the_same_report(feed, small_model, report_run):
    path, _bad = feed
    result, _out = report_run
    parallel = run_tagger("report", str(path), "--model", str(small_model), "--json",
                          "--reference-periods", "2", "--min-papers", "100", "--quiet",
                          "--jobs", "2", "--batch-size", "64")
    assert parallel.returncode == 3
    one, two = json.loads(result.stdout), json.loads(parallel.stdout)
    for report in (one, two):
        del report["timing"]
    assert one == two


def _close(a, b, path: str = "") -> None:
    """Equal structures, floats within 1e-4 (the compiled kernel's scores differ from the
    batch path's by ~1e-6, which can move a rounded figure by one unit)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-4), path
    else:
        assert a == b, path


def test_the_compiled_kernel_gives_the_same_report(feed, small_model, report_run):
    """``--compiled on`` in one process and in forked workers (which share the parent's
    compiled model): the batch path's report."""
    path, _bad = feed
    result, _out = report_run
    reference = json.loads(result.stdout)
    del reference["timing"]
    for jobs in ("1", "2"):
        compiled = run_tagger("report", str(path), "--model", str(small_model), "--json",
                              "--reference-periods", "2", "--min-papers", "100", "--quiet",
                              "--jobs", jobs, "--batch-size", "64", "--compiled", "on")
        assert compiled.returncode == 3, compiled.stderr
        assert "unavailable" not in compiled.stderr
        report = json.loads(compiled.stdout)
        del report["timing"]
        _close(report, reference)


def test_dated_documents_filters_months_and_reports_bad_ones():
    docs = [Document(id="a", abstract="x", month="2025-01", source="f", line=1),
            Document(id="b", abstract="x", month="", source="f", line=2),
            Document(id="c", abstract="x", month="2025-07", source="f", line=3)]
    errors: list = []
    counts = drift.FeedCounts()
    kept = list(drift.dated_documents(docs, errors.append, counts,
                                      drift.parse_month_range("2025-01:2025-06")))
    assert [d.id for d in kept] == ["a"]
    assert [str(e) for e in errors] == ["f:2: no 'month' field (YYYY-MM)"]
    assert (counts.read, counts.skipped, counts.outside) == (3, 1, 1)
    assert drift.parse_month_range("2025-03") == ("2025-03", "2025-03")
    with pytest.raises(ValueError):
        drift.parse_month_range("2025-06:2025-01")


def test_memory_stays_flat_on_a_long_feed(small_model, tmp_path):
    """Peak RSS must not grow with the feed: 30,000 papers may use at most 10 MB more than
    2,000 (holding the papers would cost about twice that). Workers included (``--jobs 2``)."""
    probe = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], check=False, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
             "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    rng = random.Random(5)
    vocabulary = [w for words in THEME_WORDS.values() for w in words] + OFF_TOPIC + FILLER
    peaks = {}
    for n in (2000, 30000):
        path = tmp_path / f"feed{n}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for i in range(n):
                out.write(json.dumps({
                    "id": f"p{i}", "month": MONTHS[i * len(MONTHS) // n],
                    "abstract": " ".join(rng.choice(vocabulary) for _ in range(30))}) + "\n")
        command = [sys.executable, "-c", probe, sys.executable, "-m", "tagger", "report",
                   str(path), "--model", str(small_model), "--jobs", "2", "--quiet",
                   "--min-papers", "100", "--json"]
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
        status, peak = map(int, result.stdout.split())
        assert status == 0
        peaks[n] = peak / 1024  # KiB -> MiB
    assert peaks[30000] - peaks[2000] < 10, peaks


def test_shares_are_the_tags_the_product_gives(feed, small_model, report_run):
    """The report's per-theme counts equal what ``Tagger.tag`` (the CLI/API path) tags."""
    from collections import Counter

    from tagger.artifact import load_model
    from tagger.corpus import read_documents

    path, _bad = feed
    result, _out = report_run
    report = json.loads(result.stdout)
    tagger = load_model(small_model)
    documents = [d for d in read_documents(path, on_error=lambda _e: None) if d.month]
    counts = Counter()
    for start in range(0, len(documents), 256):
        batch = documents[start:start + 256]
        for doc, tagged in zip(batch, tagger.tag(batch), strict=True):
            counts.update((doc.month, tag["theme"]) for tag in tagged["tags"])
    for period in report["periods"]:
        for theme, cell in period["themes"].items():
            assert cell["tagged"] == counts[(period["period"], theme)], (period["period"], theme)


def test_report_on_the_head_of_the_real_feed(shared_dir, tmp_path):
    """The shipped model on the first 4,000 real feed records (read at run time, never
    committed): every record is read, 2024-01 is complete, the page is written."""
    import gzip
    from itertools import islice

    feed_path = shared_dir / "corpus" / "arxiv_feed.jsonl.gz"
    if not feed_path.is_file():
        pytest.skip("no arxiv_feed.jsonl.gz in the shared data")
    head = tmp_path / "head.jsonl"
    with gzip.open(feed_path, "rt", encoding="utf-8") as source:
        head.write_text("".join(islice(source, 4000)), encoding="utf-8")
    result = run_tagger("report", str(head), "--json", "--quiet", "--reference-periods", "1",
                        "--html", str(tmp_path / "real.html"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sum(p["papers"] for p in report["periods"]) == 4000
    months = {p["period"]: p for p in report["periods"]}
    assert months["2024-01"]["papers"] == 1745 and months["2024-01"]["reference"]
    assert 0.02 < months["2024-01"]["oov_rate"] < 0.5
    assert (tmp_path / "real-share.png").stat().st_size > 5000
