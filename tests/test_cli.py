"""The ``tagger`` command line, run as a real subprocess: output format and order, the
``--all-scores`` and ``--explain`` additions, exit statuses 0/3/2/1 with ``FILE:LINE`` messages
and the ``tagged N, skipped M`` summary, and train -> tag -> evaluate end to end."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest

from tagger.artifact import read_manifest
from tagger.cli import build_parser
from tagger.cli import main as tagger_main
from tagger.text import lemmas
from tests.conftest import REPO
from tests.test_taxonomy import GUIDELINE_IDS

SSM = ("A state space model with a latent state. Kalman filters and the linear dynamical "
       "system give forecasting of sensor time series over a long horizon.")
AUTOML = ("Neural architecture search and hyperparameter optimization over a search space: "
          "automl finds the pipeline configuration.")
OFF = "Galaxy spectra from the telescope on a lattice of soil and protein markets."


def run_tagger(*args: str, stdin: str | None = None, env: dict | None = None
               ) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "tagger", *args], input=stdin,
                          capture_output=True, text=True, cwd=REPO, timeout=300, env=full_env)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# --- tagger tag -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_run(small_model, tmp_path_factory):
    """One ``tagger tag --explain --all-scores -o`` over a file with two bad lines."""
    folder = tmp_path_factory.mktemp("mixed")
    papers = folder / "papers.jsonl"
    records = [
        {"id": "ssm", "title": "Kalman filter forecasting", "abstract": SSM},
        {"id": "auto", "abstract": AUTOML},
        None,  # line 3: broken JSON
        {"id": "no-abstract", "title": "Only a title"},
        {"abstract": OFF},  # line 5: id defaults to the line number
    ]
    papers.write_text("".join(
        "{broken\n" if r is None else json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = folder / "out.jsonl"
    result = run_tagger("tag", str(papers), "--model", str(small_model), "--explain",
                        "--all-scores", "-o", str(out))
    return result, papers, out, {r["id"]: r for r in records if r and "id" in r}


def test_tag_partial_input_exits_3_and_names_the_bad_lines(mixed_run):
    result, papers, out, _ = mixed_run
    assert result.returncode == 3
    assert result.stdout == ""  # -o: nothing on stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(papers))]
    assert errors == [
        f"{papers}:3: not valid JSON (Expecting property name enclosed in double quotes "
        "at column 2)",
        f"{papers}:4: no 'abstract' field",
    ]
    assert last_line(result.stderr) == "tagged 3, skipped 2"
    assert out.is_file()


def test_tag_output_format_order_and_scores(mixed_run, small_model):
    _, _, out, _ = mixed_run
    lines = out.read_text(encoding="utf-8").splitlines()
    results = [json.loads(line) for line in lines]
    assert [r["id"] for r in results] == ["ssm", "auto", "5"]
    for result in results:
        assert set(result) == {"id", "tags", "scores", "evidence"}
        assert list(result["scores"]) == GUIDELINE_IDS
        assert all(0.0 <= s <= 1.0 for s in result["scores"].values())
        scores = [tag["score"] for tag in result["tags"]]
        assert scores == sorted(scores, reverse=True)
        for tag in result["tags"]:
            assert set(tag) >= {"theme", "score"}
            assert tag["score"] == result["scores"][tag["theme"]]
            assert tag["score"] >= 0.5  # calibrated: every theme's decision point
        untagged = set(GUIDELINE_IDS) - {tag["theme"] for tag in result["tags"]}
        assert all(result["scores"][t] < 0.5 for t in untagged)
        assert set(result["evidence"]) == {tag["theme"] for tag in result["tags"]}
    assert {"state-space-models", "time-series"} <= {t["theme"] for t in results[0]["tags"]}
    assert results[1]["tags"][0]["theme"] == "automl"
    assert results[2]["tags"] == []  # off-topic: an empty list is a valid answer


def test_explain_spans_point_at_the_words_in_title_and_abstract(mixed_run):
    _, _, out, records = mixed_run
    results = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    seen_fields = set()
    for doc_id in ("ssm", "auto"):
        record = records[doc_id]
        fields = {"title": record.get("title", ""), "abstract": record["abstract"]}
        for theme, evidence in results[doc_id]["evidence"].items():
            assert evidence, theme
            for item in evidence:
                assert item["weight"] > 0
                assert item["spans"]
                for span in item["spans"]:
                    text = fields[span["field"]]
                    assert 0 <= span["start"] < span["end"] <= len(text), (theme, item, span)
                    surface = text[span["start"]:span["end"]]
                    assert lemmas(surface) == lemmas(item["text"]), (surface, item)
                    seen_fields.add(span["field"])
    ssm = {item["text"].lower() for item in results["ssm"]["evidence"]["state-space-models"]}
    assert any("kalman" in text or "state space" in text for text in ssm)
    assert seen_fields == {"title", "abstract"}


def test_tag_stdin_plain_output_and_default_model_from_env(small_model):
    stdin = "".join(json.dumps({"id": f"s{i}", "abstract": text}) + "\n"
                    for i, text in enumerate([SSM, OFF, AUTOML]))
    result = run_tagger("tag", env={"TAGGER_MODEL": str(small_model)}, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert last_line(result.stderr) == "tagged 3, skipped 0"
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in results] == ["s0", "s1", "s2"]
    assert all(set(r) == {"id", "tags"} for r in results)
    assert results[1]["tags"] == []


def test_tag_nothing_usable_exits_1(small_model, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "no abstract"}\n[1, 2]\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_tagger("tag", str(bad), "--model", str(small_model), "-o", str(out))
    assert result.returncode == 1
    assert f"{bad}:1: no 'abstract' field" in result.stderr
    assert f"{bad}:2: expected a JSON object" in result.stderr
    assert last_line(result.stderr) == "tagged 0, skipped 2"


def test_usage_errors_exit_2():
    unknown = run_tagger("tag", "--no-such-flag")
    assert unknown.returncode == 2 and "unrecognized arguments" in unknown.stderr


def test_usage_errors_in_process(capsys):
    """The same ``main`` the console script calls, without a process start per case."""
    assert tagger_main([]) == 2
    assert tagger_main(["train", "--data", "x.jsonl", "--cv", "1"]) == 2
    assert "--cv must be 0" in capsys.readouterr().err
    assert tagger_main(["tag", "--batch-size", "0"]) == 2
    assert tagger_main(["themes", "--taxonomy"]) == 2


def test_missing_model_exits_1_naming_it(tmp_path, capsys):
    assert tagger_main(["info", "--model", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"tagger info: error: {tmp_path / 'none'}: no such model directory")
    assert tagger_main(["evaluate", "--data", "x.jsonl", "--model", str(tmp_path / "none")]) == 1


# --- train, evaluate, themes, info ------------------------------------------------------------

def test_train_then_tag_then_evaluate(labelled_corpus, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text(labelled_corpus.read_text(encoding="utf-8") + '{"abstract": "x"}\n',
                    encoding="utf-8")
    out = tmp_path / "trained"
    trained = run_tagger("train", "--data", str(data), "--out", str(out), "--cv", "3",
                         "--seed", "1")
    assert trained.returncode == 3, trained.stderr  # one record skipped
    assert f"{data}:161: no 'tags' (labelled data needs a list of theme ids, [] for none)" in (
        trained.stderr)
    assert "cross-validated micro-F1" in trained.stderr
    manifest = read_manifest(out)
    assert manifest["training_data"][0]["records"] == 160
    assert manifest["training"]["seed"] == 1

    tagged = run_tagger("tag", "--model", str(out), stdin=json.dumps({"abstract": SSM}) + "\n")
    assert tagged.returncode == 0, tagged.stderr
    assert "state-space-models" in {t["theme"] for t in json.loads(tagged.stdout)["tags"]}

    evaluated = run_tagger("evaluate", "--data", str(labelled_corpus), "--model", str(out),
                           "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert 0.5 < report["micro_f1"] <= 1 and 0 < report["macro_f1"] <= 1
    assert 0 <= report["exact_match"] <= 1
    assert list(report["per_theme"]) == GUIDELINE_IDS
    gold = [json.loads(line)["tags"] for line in labelled_corpus.read_text().splitlines()]
    assert report["per_theme"]["automl"]["support"] == sum("automl" in tags for tags in gold)
    assert last_line(evaluated.stderr) == "evaluated 160, skipped 0"


def test_evaluate_text_report(small_model, labelled_corpus, capsys):
    assert tagger_main(["evaluate", "--data", str(labelled_corpus), "--model",
                        str(small_model)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("theme ")
    assert "micro-F1 " in out and "macro-F1 " in out and "exact match " in out


def test_themes_json_and_text(capsys):
    result = run_tagger("themes", "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert [theme["id"] for theme in data["themes"]] == GUIDELINE_IDS
    assert all(theme["label"] and theme["description"] for theme in data["themes"])
    assert tagger_main(["themes"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ml-research-themes v") and "time-series" in text


def test_info_json_and_text(small_model, capsys):
    result = run_tagger("info", "--model", str(small_model), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == read_manifest(small_model)
    assert tagger_main(["info", "--model", str(small_model)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("model      small ")
    assert "cv         micro-F1" in text


def test_version(capsys):
    assert tagger_main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tagger ")


def test_train_from_stdin_and_refusing_a_symlink_out(labelled_corpus, tmp_path, monkeypatch,
                                                     capsys):
    import io

    head = "".join(labelled_corpus.read_text(encoding="utf-8").splitlines(True)[:40])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(head.encode())))
    out = tmp_path / "from-stdin"
    assert tagger_main(["train", "--data", "-", "--out", str(out), "--cv", "0"]) == 0
    manifest = read_manifest(out)
    assert manifest["training_data"] == [{"file": "(stdin)", "records": 40, "sha256": None}]
    assert "`(stdin)`: 40 records, read from stdin" in (out / "MODEL_CARD.md").read_text()
    assert "cv_metrics" not in manifest

    link = tmp_path / "current"
    link.symlink_to(out)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(head.encode())))
    capsys.readouterr()
    assert tagger_main(["train", "--data", "-", "--out", str(link), "--cv", "0"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        f"cannot write the model: {link}: is a symlink; train into a new directory and "
        "`tagger publish` it")
    assert link.is_symlink() and read_manifest(link) == manifest


def test_atomic_output_is_all_or_nothing_with_normal_permissions(tmp_path):
    from tagger.output import AtomicOutput

    path = tmp_path / "out.jsonl"
    with AtomicOutput(path) as handle:
        handle.write("first\n")
        assert not path.exists()  # nothing under the final name until the block ends
    assert path.read_text() == "first\n"
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    path.chmod(0o640)
    with pytest.raises(RuntimeError), AtomicOutput(path) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "first\n"  # the old output survives a failed run
    with AtomicOutput(path) as handle:
        handle.write("second\n")
    assert path.read_text() == "second\n" and path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_train_with_a_feed_representation_stores_it_with_the_model(labelled_corpus, tmp_path,
                                                                    capsys):
    """``--representation FILE`` adds a learnt block (here category probabilities fitted on
    the corpus itself, filed by theme): the model directory carries it as
    ``representation.npz``, the manifest says what it is, and tagging uses it. A file that
    is not a representation is refused, naming it."""
    from tagger.representations import fit_category_representation

    records = [json.loads(line) for line in labelled_corpus.read_text().splitlines()]
    rep = fit_category_representation(
        [lemmas(r["title"]) + lemmas(r["abstract"]) for r in records],
        [["cs.LG", *(f"theme.{t}" for t in r["tags"])] for r in records], min_papers=10,
        min_df=2, activation="sigmoid")
    rep.save(tmp_path / "categories.npz")
    out = tmp_path / "with-categories"
    assert tagger_main(["train", "--data", str(labelled_corpus), "--out", str(out), "--cv", "0",
                        "--representation", str(tmp_path / "categories.npz"),
                        "--representation-weight", "0.4"]) == 0
    assert (out / "representation.npz").is_file()
    manifest = read_manifest(out)
    assert manifest["design"]["params"]["features__representation_weight"] == 0.4
    from tagger.artifact import load_model

    tagger = load_model(out)
    assert tagger.estimator.features_.representation.activation == "sigmoid"
    capsys.readouterr()
    assert tagger_main(["tag", "--model", str(out), "--text", SSM]) == 0
    assert "state-space-models" in capsys.readouterr().out
    assert tagger_main(["info", "--model", str(out)]) == 0
    assert f"feed block categories, {rep.dim} dimensions" in capsys.readouterr().out

    (tmp_path / "not.npz").write_bytes(b"not an array file")
    assert tagger_main(["train", "--data", str(labelled_corpus), "--out", str(tmp_path / "x"),
                        "--cv", "0", "--representation", str(tmp_path / "not.npz")]) == 1
    assert f"{tmp_path / 'not.npz'}: not a usable representation" in capsys.readouterr().err
    (tmp_path / "cut.npz").write_bytes((tmp_path / "categories.npz").read_bytes()[:1000])
    assert tagger_main(["train", "--data", str(labelled_corpus), "--out", str(tmp_path / "x"),
                        "--cv", "0", "--representation", str(tmp_path / "cut.npz")]) == 1
    assert f"{tmp_path / 'cut.npz'}: not a usable representation" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_help_lists_every_subcommand_on_one_line_with_its_purpose():
    (commands,) = [a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction)]
    result = subprocess.run([sys.executable, "-m", "tagger", "--help"], capture_output=True,
                            text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in commands.choices:
        matching = [line for line in lines if re.match(rf"^ {{4}}{re.escape(name)} +\S", line)]
        assert len(matching) == 1, (name, result.stdout)
        purpose = matching[0].split(name, 1)[1].strip()
        assert len(purpose.split()) >= 3, matching[0]  # a phrase, not a stub
    assert max(map(len, lines)) <= 100
