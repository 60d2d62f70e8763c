"""The small session model trains, saves, loads and tags its own themes."""

from tagger.artifact import load_model
from tagger.corpus import Document


def test_small_model_tags_its_themes(small_model):
    tagger = load_model(small_model)
    text = "Kalman filter and state space model with latent state for forecasting sensor data"
    result = tagger.tag([Document(id="x", abstract=text)])[0]
    themes = [tag["theme"] for tag in result["tags"]]
    assert "state-space-models" in themes
    off = tagger.tag([Document(id="y", abstract="galaxy spectra from the telescope lattice")])[0]
    assert off["tags"] == []
