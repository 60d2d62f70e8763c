"""One-way layers: the core library never imports the layers built on it (training, API, CLI,
store), neither when imported nor when it loads and applies a saved model, and no core source
file names them in an import statement (lazy imports inside functions included)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

CORE = ["tagger", "tagger.taxonomy", "tagger.records", "tagger.corpus", "tagger.text",
        "tagger.phrases", "tagger.fields", "tagger.features", "tagger.representations",
        "tagger.calibration", "tagger.classifier", "tagger.estimator", "tagger.artifact",
        "tagger.tagging", "tagger.model_card", "tagger.output", "tagger.publish"]
UPPER = ("tagger.training", "tagger.api", "tagger.cli", "tagger.store", "tagger.review",
         "tagger.bulk")

_PROBE = """
import json, sys
for name in {core!r}:
    __import__(name)
{after}
upper = {upper!r}
print(json.dumps(sorted(m for m in sys.modules if m.startswith(upper))))
"""


def _upper_modules_after(after: str = "") -> list[str]:
    code = _PROBE.format(core=CORE, upper=UPPER, after=after)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_probe_sees_an_upper_layer_when_one_is_imported():
    """The probe can fail: importing the CLI does show up."""
    assert "tagger.cli" in _upper_modules_after("import tagger.cli")


def test_importing_the_core_imports_no_upper_layer():
    assert _upper_modules_after() == []


def test_loading_and_applying_a_model_imports_no_upper_layer(small_model):
    after = f"""
from tagger.artifact import load_model
from tagger.corpus import Document
tagger = load_model({str(small_model)!r})
docs = [Document(id="1", title="Kalman filter", abstract="A state space model for forecasting.")]
result = tagger.tag(docs, explain_tags=True, all_scores=True)
assert result[0]["tags"], result
tagger.estimator.predict([{{"title": "", "abstract": "neural architecture search"}}])
"""
    assert _upper_modules_after(after) == []


def _imported_names(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """Absolute names of every module an AST imports (relative imports resolved)."""
    package = module.rsplit(".", 1)[0] if module.count(".") else module
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names.append((node.lineno, base))
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", "")) in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.append((node.lineno, node.args[0].value))
    return names


@pytest.mark.parametrize("module", CORE)
def test_no_core_source_imports_an_upper_layer(module):
    relative = module.replace(".", "/")
    path = REPO / (f"{relative}/__init__.py" if module == "tagger" else f"{relative}.py")
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offending = [f"{path.name}:{line}: imports {name}" for line, name in
                 _imported_names(tree, module)
                 if any(name == u or name.startswith(u + ".") for u in UPPER)]
    assert not offending, offending


def test_the_static_check_can_fail():
    source = ("import tagger.api\nfrom tagger import cli\nfrom .training import fit\n"
              "def f():\n    from tagger.store.x import y\n"
              "import importlib\nimportlib.import_module('tagger.training.fit')\n")
    names = {name for _line, name in _imported_names(ast.parse(source), "tagger.estimator")}
    assert {"tagger.api", "tagger.cli", "tagger.training", "tagger.store.x",
            "tagger.training.fit"} <= names


def _module_imports(path) -> list[tuple[int, str]]:
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    module = module.removesuffix(".__init__")
    return _imported_names(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)),
                           module)


@pytest.mark.parametrize("path", sorted((REPO / "tagger" / "api" / "views").glob("*.py")),
                         ids=lambda p: p.name)
def test_no_view_imports_the_app_factory(path):
    """The views read per-app state from tagger.api.context; only the factory knows them all,
    so the API's imports point one way (no circle through tagger.api.app)."""
    offending = [f"{path.name}:{line}: imports {name}" for line, name in _module_imports(path)
                 if name == "tagger.api.app" or name.startswith("tagger.api.app.")]
    assert not offending, offending


def test_the_store_engine_does_not_import_the_store_api():
    """db.py (engine, migrations) sits below labels.py (the store API): no circle between
    them; tagger.store.opening joins the two."""
    path = REPO / "tagger" / "store" / "db.py"
    offending = [name for _line, name in _module_imports(path)
                 if name.startswith(("tagger.store.labels", "tagger.store.opening"))]
    assert not offending, offending


def _import_graph(package: str) -> dict[str, set[str]]:
    root = REPO / package.replace(".", "/")
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {imported for _line, imported in _module_imports(path)
                       if imported in modules and imported != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[str]:
    """The modules from which the import graph leads back to themselves."""
    circles = []
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            node = stack.pop()
            if node == start:
                circles.append(start)
                break
            if node not in seen:
                seen.add(node)
                stack.extend(graph.get(node, ()))
    return sorted(circles)


@pytest.mark.parametrize("package", ["tagger.api", "tagger.store"])
def test_no_import_circle_inside(package):
    """Module-level and lazy imports alike: no module of the package reaches itself again
    (a package's __init__ re-exporting its modules is not a circle and is left out)."""
    graph = {name: {m for m in targets if m != package}
             for name, targets in _import_graph(package).items() if name != package}
    assert not _circles(graph)


def test_the_circle_check_can_fail():
    """The factory importing a view that imports the factory back, as the API once did."""
    graph = {"api.app": {"api.views.admin"}, "api.views.admin": {"api.views.common"},
             "api.views.common": {"api.app"}, "api.errors": set()}
    assert _circles(graph) == ["api.app", "api.views.admin", "api.views.common"]
