"""API settings from the environment: the compiled-scoring switch, and its effect on the app."""

from __future__ import annotations

import pytest

from tagger.api import create_app
from tagger.api.config import ConfigError, load_config
from tagger.api.context import holder_of


@pytest.mark.parametrize(("raw", "expected"), [("off", False), ("0", False), ("No", False),
                                               ("on", True), ("TRUE", True), ("1", True)])
def test_compiled_scoring_is_read_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("TAGGER_COMPILED_SCORING", raw)
    assert load_config().compiled_scoring is expected


def test_compiled_scoring_is_on_by_default_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.delenv("TAGGER_COMPILED_SCORING", raising=False)
    assert load_config().compiled_scoring is True
    monkeypatch.setenv("TAGGER_COMPILED_SCORING", "fast")
    with pytest.raises(ConfigError, match="TAGGER_COMPILED_SCORING|compiled_scoring"):
        load_config()


@pytest.mark.parametrize("compiled", [True, False])
def test_the_app_serves_the_same_scores_either_way(small_model, compiled):
    app = create_app({"model_dir": small_model, "compiled_scoring": compiled})
    estimator = holder_of(app).tagger.estimator
    assert ("compiled_scorer_" in estimator.__dict__) is compiled
    body = {"title": "Mamba", "abstract": "A selective state space model with a Kalman filter.",
            "all_scores": True}
    scores = app.test_client().post("/v1/tag", json=body).get_json()["scores"]
    batch = app.test_client().post("/v1/tag/batch", json={"documents": [body, body]})
    assert batch.get_json()["results"][0]["scores"] == scores
