"""`tagger tag` start-up trimming (tagger/cli/startup.py): tagging one abstract imports no
fit-only or unused library code, and a deferred module still works in full when it is used."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_tagging_one_abstract_skips_unused_imports(small_model):
    code = f"""
import json, sys
from tagger.cli import main
status = main(["tag", "--text", "A selective state space model for forecasting.",
               "--model", {str(small_model)!r}, "-q"])
loaded = [name for name in ("scipy.stats._stats_py", "sklearn.linear_model",
                            "sklearn.model_selection", "sklearn.metrics", "pandas",
                            "sklearn.feature_extraction.text", "scipy.interpolate",
                            "numba")  # the compiled one-paper path is the server's
          if sys.modules.get(name) is not None]
print(json.dumps({{"status": status, "loaded": loaded}}))
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert json.loads(lines[0])["id"] == "text"  # the tags were printed
    assert json.loads(lines[-1]) == {"status": 0, "loaded": []}


def test_a_small_file_keeps_the_batch_path_and_compiled_on_forces_the_kernel(small_model,
                                                                            tmp_path):
    """``--compiled auto`` on a file of a few batches (far below 16 MiB) never pays numba's
    start-up; ``--compiled on`` does load it."""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"p{i}", "abstract": f"A state space model {i}."})
                              + "\n" for i in range(1200)))
    for mode, numba_loaded in (("auto", False), ("on", True)):
        code = f"""
import json, sys
from tagger.cli import main
status = main(["tag", {str(source)!r}, "-o", {str(tmp_path / mode)!r}, "--jobs", "1",
               "--compiled", {mode!r}, "--model", {str(small_model)!r}, "-q"])
print(json.dumps({{"status": status, "numba": sys.modules.get("numba") is not None}}))
"""
        result = _run(code)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == {
            "status": 0, "numba": numba_loaded}, mode
        assert "tagged 1200, skipped 0" in result.stderr


def test_a_deferred_module_loads_in_full_when_used():
    code = """
import sys
from tagger.cli.startup import defer_import
defer_import("scipy.stats")
assert "scipy.stats._stats_py" not in sys.modules
import scipy.stats
from scipy.stats import rankdata
kind = type(sys.modules["scipy.stats"]).__name__
print(scipy.stats.norm.cdf(0.0), rankdata([3, 1, 2]).tolist(), kind)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.5", "[3.0,", "1.0,", "2.0]", "module"]


def test_deferring_a_missing_or_loaded_module_changes_nothing():
    code = """
import sys, json as already
from tagger.cli.startup import defer_import
defer_import("no_such_package.sub")
defer_import("json.decoder")
print("no_such_package.sub" in sys.modules, type(sys.modules["json.decoder"]).__name__)
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "module"]
