"""Reading estimators pickled by an earlier version of this package."""

from __future__ import annotations

import inspect
from typing import Any


def fill_new_parameters(cls: type, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (an unpickled estimator's ``__dict__``) with every ``__init__`` parameter it
    lacks set to that parameter's default. A parameter added after a model was saved takes
    its default, which is what the model was fitted with (new parameters default to the old
    behaviour), so ``get_params``, ``repr`` and ``clone`` keep working on old models."""
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name != "self" and parameter.default is not inspect.Parameter.empty:
            state.setdefault(name, parameter.default)
    return state
