"""The feed experiments' own pieces (training/experiments: self-training on the feed, stacked
representations, the stream runner's command line), on the generated corpus of
tests/test_representations.py."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.estimator import build_model
from tagger.representations import fit_category_representation, fit_feed_representation
from tagger.taxonomy import load_taxonomy
from tagger.text import lemmas
from tests.test_representations import generated_categories, generated_corpus, labelled_papers
from training.experiments import stream as stream_experiments
from training.experiments.self_training import FeedAugmented
from training.experiments.stacked import StackedRepresentation


@pytest.fixture(scope="module")
def lemma_lists() -> list[list[str]]:
    return [lemmas(text) for text in generated_corpus()]


def test_feed_augmented_adds_pseudo_labelled_rows():
    X, Y, ids = labelled_papers(150)
    pool = np.array([("", t) for t in generated_corpus(90, seed=5)], dtype=object)
    vision = ids.index("computer-vision")
    pool_themes = [[vision] if i % 3 == 1 else [] for i in range(90)]
    base = build_model(load_taxonomy(), features__lsa_components=0)
    by_category = FeedAugmented(base, pool=pool, pool_themes=pool_themes, teacher=False,
                                categories=True).fit(X, Y)
    assert by_category.n_pseudo_ == 30 and by_category.pseudo_positives_[vision] == 30
    capped = FeedAugmented(base, pool=pool, pool_themes=pool_themes, teacher=False,
                           categories=True, max_per_theme=10).fit(X, Y)
    assert capped.n_pseudo_ == 10
    by_teacher = FeedAugmented(base, pool=pool, confidence=0.9).fit(X, Y)
    # the generated pool is as easy as the training set: the teacher tags nearly all of it
    assert by_teacher.n_pseudo_ >= 60
    assert by_teacher.pseudo_positives_.sum() >= by_teacher.n_pseudo_
    assert by_teacher.predict(X[:3]).shape == (3, len(ids))


def test_stream_experiments_cli_lists_designs_and_refuses_unknown_ones(capsys):
    assert stream_experiments.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "feed-ppmi+unl" in listed and "self-train" in listed and "ppmi256-p" in listed
    assert "feed-categories" in listed and "categories25" in listed
    with pytest.raises(SystemExit) as exit_info:
        stream_experiments.main(["--design", "no-such-design"])
    assert exit_info.value.code == 2
    assert "no-such-design" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        stream_experiments.main(["--build", "lsa256", "--build", "lsa128", "--to", "x.npz"])


def test_stacked_representation_scales_each_part_then_concatenates(lemma_lists):
    """A stack is its parts side by side: each direction part at length ``weight`` (so a
    256-d part cannot swamp a 3-d one), a probability part times its weight, unscaled
    otherwise; the one-paper path gives the batch row."""
    lsa = fit_feed_representation(lemma_lists, dim=8, min_df=3, method="lsa")
    probabilities = fit_category_representation(
        lemma_lists, generated_categories(len(lemma_lists)), min_papers=20, min_df=3,
        activation="sigmoid")
    stack = StackedRepresentation([lsa, probabilities], [0.5, 2.0])
    assert stack.dim == 11 and stack.normalise is False
    papers = lemma_lists[:10] + [lemmas("qwertz")]
    vectors = stack.transform(papers)
    assert vectors.shape == (11, 11)
    np.testing.assert_allclose(np.linalg.norm(vectors[:10, :8], axis=1), 0.5, atol=1e-5)
    assert not vectors[10, :8].any()  # no known word: zeros, not NaN
    np.testing.assert_allclose(vectors[:, 8:], 2.0 * probabilities.transform(papers), atol=1e-6)
    for i, paper in enumerate(papers):
        np.testing.assert_allclose(stack.transform_one(paper), vectors[i], atol=1e-6)
    assert [p["method"] for p in stack.describe()["parts"]] == ["lsa", "categories"]
    with pytest.raises(ValueError, match="one weight per part"):
        StackedRepresentation([lsa], [1.0, 2.0])
