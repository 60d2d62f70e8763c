"""The design registry's threshold ceiling (training/experiments/designs.py)."""

from __future__ import annotations

import numpy as np

from training.experiments.designs import CORE_THEMES, threshold_ceiling


def test_threshold_ceiling_covers_the_core_themes_only():
    ids = ["other", *CORE_THEMES]
    Y = np.zeros((6, len(ids)), dtype=int)
    Y[:2, :] = 1
    S = np.tile(np.linspace(0.9, 0.4, 6)[:, None], (1, len(ids)))
    S[:, 2] = S[::-1, 2]  # state-space-models: its positives ranked last
    ceiling = threshold_ceiling(Y, S, ids)
    assert set(ceiling["per_theme_f1"]) == set(CORE_THEMES)
    assert ceiling["per_theme_f1"]["autoregressive-models"] == 1.0
    assert ceiling["per_theme_f1"]["state-space-models"] == 0.5  # all six tagged: 2 of 6
    assert ceiling["core_macro_f1"] == 0.9
    assert threshold_ceiling(Y[:, :1], S[:, :1], ["other"]) == {"core_macro_f1": None,
                                                                "per_theme_f1": {}}
