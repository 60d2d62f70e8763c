"""Per-app state: what the factory builds once (settings, model holder, reviewer settings)
and every request reads.

It sits below both the factory (:mod:`tagger.api.app`, which attaches) and the views (which
read), so imports point one way: views never import the factory, and the factory is the only
module that knows every blueprint. The state lives in ``app.extensions`` so several apps
(tests build many) never share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from tagger.api.config import ApiConfig
from tagger.api.review_config import ReviewSettings
from tagger.api.state import ModelHolder

EXTENSION = "tagger"


@dataclass(frozen=True)
class AppState:
    settings: ApiConfig
    holder: ModelHolder
    review: ReviewSettings


def attach(app: Flask, state: AppState) -> None:
    """Give ``app`` its state; called once, by the factory."""
    app.extensions[EXTENSION] = state


def state_of(app: Flask) -> AppState:
    return app.extensions[EXTENSION]


def find_state(app: object) -> AppState | None:
    """The state of a tagger app; None for any other WSGI app (the benchmarks' bare one)."""
    state = getattr(app, "extensions", {}).get(EXTENSION)
    return state if isinstance(state, AppState) else None


def settings_of(app: Flask) -> ApiConfig:
    return state_of(app).settings


def holder_of(app: Flask) -> ModelHolder:
    return state_of(app).holder


def review_of(app: Flask) -> ReviewSettings:
    return state_of(app).review
