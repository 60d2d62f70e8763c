"""Start-up trimming for ``tagger tag``: a one-abstract run is mostly importing libraries.

Measured with ``python -X importtime`` (see ``benchmarks/cli_startup.py``): loading a model
imports scikit-learn, whose ``sklearn.utils.fixes`` imports ``scipy.stats`` at module level
(about half of the whole start-up: SciPy builds its distribution classes on import) although
nothing on the tagging path calls it, and imports pandas whenever it is installed. Only the
CLI, the composition root, changes how those are imported; the library never touches
``sys.modules``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is used, then imports the real one
    and hands every attribute over to it. (The standard library's ``LazyLoader`` does not
    help here: the import system reads ``__spec__`` of every module it finds in
    ``sys.modules``, and on Python 3.11 that read already runs the whole module.)"""

    def __getattr__(self, attribute: str):
        return getattr(_import_now(self.__name__), attribute)


_lock = threading.RLock()


def _import_now(name: str) -> types.ModuleType:
    """Replace the stand-in by the real module. The stand-in leaves ``sys.modules`` and its
    package *before* the import runs, so code inside the module that reaches for the module
    through its package sees the half-initialised real one, as in a normal import."""
    parent, _, child = name.rpartition(".")
    with _lock:
        if isinstance(sys.modules.get(name), _DeferredModule):
            del sys.modules[name]
            if isinstance(getattr(sys.modules[parent], child, None), _DeferredModule):
                delattr(sys.modules[parent], child)
        module = importlib.import_module(name)
        setattr(sys.modules[parent], child, module)
        return module


def defer_import(name: str) -> None:
    """Make ``import name`` (a submodule) cost nothing until an attribute of it is used; it
    is then imported in full, so behaviour is unchanged if it turns out to be needed. A
    module already imported, or one that is not installed, is left alone."""
    parent, _, child = name.rpartition(".")
    if name in sys.modules or not parent:
        return
    try:
        if importlib.util.find_spec(name) is None:
            return
    except (ImportError, ValueError):
        return
    stand_in = _DeferredModule(name)
    sys.modules[name] = stand_in
    setattr(sys.modules[parent], child, stand_in)  # find_spec imported the parent


def skip_pandas() -> None:
    """scikit-learn imports pandas whenever it is installed (to accept DataFrames); tagging
    files never builds one, and that import was a quarter of a one-abstract run's start-up.
    A ``None`` entry in ``sys.modules`` makes ``import pandas`` raise ImportError, which
    scikit-learn handles as "pandas not installed". Only for the local engines: Dask may
    want pandas."""
    if "pandas" not in sys.modules:
        sys.modules["pandas"] = None  # type: ignore[assignment]


def trim_tagging_startup(local_engine: bool) -> None:
    """Everything above, for one ``tagger tag`` run."""
    if local_engine:
        skip_pandas()
    defer_import("scipy.stats")
