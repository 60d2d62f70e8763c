"""A regular (non-editable) install works on its own: the wheel ships the taxonomy, the demo
page's static files and the default model, and from a directory outside the checkout the
installed package (not the checkout) tags with its packaged model, serves the demo page and
trains. The research code (``training/experiments``) stays in the checkout: the wheel ships
none of it, and the installed package works without it.

The wheel is built from a copy of the working tree (so no build/ or egg-info lands in the
checkout) and installed with ``--no-deps`` into a fresh venv; the dependencies come from the
repo's ``.venv`` through a ``.pth`` line added after the install (a plain path: the ``.venv``'s
own ``.pth`` files, among them the editable install's finder, are not run). Skips, with the
reason, when the wheel cannot be built because no package index is reachable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, make_labelled_corpus, write_jsonl

pytestmark = pytest.mark.slow

VENV_PYTHON = REPO / ".venv" / "bin" / "python"
# Not the project: tool state, build output and the environment itself.
_NOT_SOURCE = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache",
               ".hypothesis", "tagger.egg-info", "node_modules"}
_OFFLINE = re.compile(r"Could not find a version|No matching distribution|NewConnectionError|"
                      r"Network is unreachable|Temporary failure in name resolution|"
                      r"ProxyError|Max retries exceeded|Connection refused", re.I)
SHIPPED = ["tagger/data/taxonomy.toml", "tagger/api/static/demo.html",
           "tagger/models/default/manifest.json", "tagger/models/default/model.joblib",
           "tagger/models/default/MODEL_CARD.md"]
# Experiment runners that once lived in tagger/training (and tagger/review/simulate.py) and
# now live in training/experiments.
MOVED = ["experiments", "stream_experiments", "averaging", "stacked", "self_training",
         "agreement"]


def _run(args: list, cwd: Path, env: dict | None = None, timeout: int = 240
         ) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _build_isolation_flags() -> list[str]:
    """Build offline with the .venv's setuptools when it can make wheels by itself."""
    probe = _run([VENV_PYTHON, "-c", "import setuptools, importlib.util as u; "
                  "v = tuple(int(x) for x in setuptools.__version__.split('.')[:2]); "
                  "print(v >= (70, 1) or (v >= (68, 0) and u.find_spec('wheel') is not None))"],
                 cwd=REPO)
    return ["--no-build-isolation"] if probe.stdout.strip() == "True" else []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not VENV_PYTHON.is_file():
        pytest.skip(f"{VENV_PYTHON} not found")
    work = tmp_path_factory.mktemp("install")
    source = work / "src"
    shutil.copytree(REPO, source, symlinks=True,
                    ignore=lambda _d, names: [n for n in names if n in _NOT_SOURCE])
    result = _run([VENV_PYTHON, "-m", "pip", "wheel", "--no-deps", "--quiet",
                   *_build_isolation_flags(), "-w", work / "dist", source], cwd=work)
    output = result.stdout + result.stderr
    if result.returncode != 0 and _OFFLINE.search(output):
        pytest.skip("cannot build the wheel offline (no package index for the build "
                    f"dependencies): {output.strip().splitlines()[-1]}")
    assert result.returncode == 0, output[-3000:]
    (built,) = (work / "dist").glob("tagger-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel) -> Path:
    root = wheel.parent.parent / "venv"
    result = _run([sys.executable, "-m", "venv", "--without-pip", root], cwd=wheel.parent)
    assert result.returncode == 0, result.stderr
    python = root / "bin" / "python"
    result = _run([VENV_PYTHON, "-m", "pip", "--python", python, "install", "--no-deps",
                   "--no-index", "--quiet", wheel], cwd=wheel.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=root).stdout.strip())
    dependencies = sysconfig.get_paths()["purelib"]  # the .venv running this test
    (site / "zz_tagger_test_dependencies.pth").write_text(dependencies + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A working directory with nothing of the checkout in it."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def clean_env(venv) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TAGGER_") and k not in ("PYTHONPATH", "VIRTUAL_ENV",
                                                        "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_wheel_ships_taxonomy_static_files_and_default_model(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in SHIPPED if name not in names]
    assert not missing, missing
    static = REPO / "tagger" / "api" / "static"
    in_checkout = {f"tagger/api/static/{p.relative_to(static).as_posix()}"
                   for p in static.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert in_checkout <= names, sorted(in_checkout - names)
    # no generic top-level packages (api, training, ...): everything lives under tagger/
    top = {n.split("/", 1)[0] for n in names if not n.startswith("tagger-")}
    assert top == {"tagger"}, top


def test_the_installed_package_is_imported_not_the_checkout(venv, outside, clean_env):
    result = _run([venv / "bin" / "python", "-c",
                   "import json, tagger, tagger.artifact as a; "
                   "print(json.dumps([tagger.__file__, str(a.default_model_dir())]))"],
                  cwd=outside, env=clean_env)
    assert result.returncode == 0, result.stderr
    package, model = json.loads(result.stdout)
    assert Path(package).resolve().is_relative_to(venv.resolve()), package
    assert Path(model).resolve().is_relative_to(venv.resolve()), model
    assert not Path(model).resolve().is_relative_to(REPO.resolve())


def test_tagger_tag_uses_the_packaged_default_model(venv, outside, clean_env):
    papers = outside / "papers.jsonl"
    papers.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "ssm", "title": "Mamba: selective state space models",
         "abstract": "We introduce a selective state space model (SSM) layer, a structured "
                     "state space sequence model in the line of S4, with a Kalman filter view."},
        {"id": "plain", "abstract": "The weather was pleasant and the bakery sold bread."},
    ]), encoding="utf-8")
    result = _run([venv / "bin" / "python", "-m", "tagger", "tag", papers, "--quiet"],
                  cwd=outside, env=clean_env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["ssm", "plain"]
    assert "state-space-models" in {t["theme"] for t in records[0]["tags"]}, records
    info = _run([venv / "bin" / "tagger", "info"], cwd=outside, env=clean_env)
    assert info.returncode == 0, info.stderr
    assert str(venv.resolve()) in info.stdout or str(venv) in info.stdout, info.stdout


def test_the_installed_app_serves_the_demo_page(venv, outside, clean_env):
    code = ("from tagger.api import create_app\n"
            "client = create_app().test_client()\n"
            "page = client.get('/')\n"
            "print(page.status_code, page.mimetype)\n"
            "print(page.get_data(as_text=True))\n")
    result = _run([venv / "bin" / "python", "-c", code], cwd=outside, env=clean_env)
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.partition("\n")
    assert status == "200 text/html", status
    demo = (REPO / "tagger" / "api" / "static" / "demo.html").read_text(encoding="utf-8")
    title = re.search(r"<title>.*?</title>", demo, re.S)
    assert title and title.group() in body, body[:500]


def test_the_wheel_ships_no_experiment_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    research = sorted(n for n in names if n.startswith("training/")
                      or n in {f"tagger/training/{m}.py" for m in MOVED}
                      or n == "tagger/review/simulate.py")
    assert not research, research
    assert (REPO / "training" / "experiments" / "designs.py").is_file()  # where they went


def test_the_installed_package_trains_without_the_research_code(venv, outside, clean_env):
    data = write_jsonl(outside / "labelled.jsonl", make_labelled_corpus(120))
    absent = _run([venv / "bin" / "python", "-c", "import training.experiments"],
                  cwd=outside, env=clean_env)
    assert absent.returncode != 0 and "No module named 'training'" in absent.stderr
    result = _run([venv / "bin" / "tagger", "train", "--data", data, "--out", outside / "m",
                   "--cv", "0", "--seed", "0"], cwd=outside, env=clean_env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((outside / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "m", manifest.get("name")
    tagged = _run([venv / "bin" / "tagger", "tag", data, "--model", outside / "m", "--quiet"],
                  cwd=outside, env=clean_env)
    assert tagged.returncode == 0, tagged.stderr
    assert len(tagged.stdout.splitlines()) == 120
