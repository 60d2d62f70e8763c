"""The feed representation learner on a small generated corpus: deterministic for a seed,
saved to one pickle-free .npz and loaded back with the same vectors, related words close."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from tagger.compiled import CompiledScorer
from tagger.estimator import build_model
from tagger.features import Lemmatised
from tagger.fields import as_fields
from tagger.representations import (
    DocumentFrequencies,
    FeedRepresentation,
    fit_category_representation,
    fit_feed_representation,
    mine_phrases,
)
from tagger.taxonomy import load_taxonomy
from tagger.text import lemmas
from tagger.training.feed import (
    category_themes,
    labelled_feed_papers,
    read_feed,
    read_labels_by_id,
    sample_feed,
)

TOPICS = {
    "ssm": "state space model kalman filter latent dynamics mamba selective scan recurrence",
    "vision": "image pixel segmentation camera object detection convolution video frame",
    "causal": "causal graph structure discovery intervention dag confounder edge identifiability",
}
FILLER = "we study this paper result experiment show method improve evaluate".split()


def generated_corpus(n: int = 600, seed: int = 7) -> list[str]:
    """Papers that each draw words from one topic (with "state space" always adjacent in the
    ssm topic, so it is a collocation) plus filler words."""
    rng = random.Random(seed)
    papers = []
    for i in range(n):
        topic = list(TOPICS)[i % len(TOPICS)]
        words = TOPICS[topic].split()
        body = [rng.choice(words) for _ in range(25)] + [rng.choice(FILLER) for _ in range(10)]
        rng.shuffle(body)
        if topic == "ssm":
            body[3:3] = ["state", "space"]
        papers.append(" ".join(body))
    return papers


@pytest.fixture(scope="module")
def lemma_lists() -> list[list[str]]:
    return [lemmas(text) for text in generated_corpus()]


@pytest.mark.parametrize("method", ["lsa", "ppmi"])
def test_fit_is_deterministic_for_a_seed(lemma_lists, method):
    a = fit_feed_representation(lemma_lists, dim=8, min_df=3, method=method, phrases=50, seed=3)
    b = fit_feed_representation(lemma_lists, dim=8, min_df=3, method=method, phrases=50, seed=3)
    assert a.vocabulary == b.vocabulary
    assert np.array_equal(a.projection, b.projection)
    assert np.array_equal(a.transform(lemma_lists[:20]), b.transform(lemma_lists[:20]))
    assert a.describe()["seed"] == 3 and a.describe()["method"] == method


@pytest.mark.parametrize("method", ["lsa", "ppmi"])
def test_related_words_land_together(lemma_lists, method):
    rep = fit_feed_representation(lemma_lists, dim=8, min_df=3, method=method)
    vectors = rep.transform([lemmas("kalman filter latent dynamics"), lemmas("mamba scan"),
                             lemmas("image segmentation camera")])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    same_topic, other_topic = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert same_topic > 0.8 and same_topic > other_topic + 0.5


def test_collocations_are_mined_and_used(lemma_lists):
    content = [[w for w in x if w not in {"we", "this"}] for x in lemma_lists]
    assert "state space" in mine_phrases(content, min_count=20)
    rep = fit_feed_representation(lemma_lists, dim=8, min_df=3, phrases=50)
    phrase = rep.vocabulary.index("state space")
    assert phrase in rep.term_ids(lemmas("a state space model"))
    assert phrase not in rep.term_ids(lemmas("a space state model"))
    assert rep.describe()["phrases"] >= 1


def test_one_pass_lookup_equals_content_words_then_terms(lemma_lists):
    """The scoring hot path skips the content-word filter for vocabulary words; it must find
    exactly the terms of the filtered list (stop words and numbers do not break a phrase,
    an unknown content word does)."""
    from tagger.representations import _content

    rep = fit_feed_representation(lemma_lists, dim=8, min_df=3, phrases=50)
    lookup = rep._lookup
    rng = random.Random(3)
    extra = ["the", "of", "2024", "x", "unknownword", "a"]
    for words in lemma_lists[:200]:
        noisy = list(words)
        for _ in range(8):
            noisy.insert(rng.randrange(len(noisy) + 1), rng.choice(extra))
        assert sorted(lookup.lemma_terms(noisy)) == sorted(lookup.terms(_content(noisy)))
    phrase = rep.vocabulary.index("state space")
    assert phrase in rep.term_ids(lemmas("the state of the space"))
    assert phrase not in rep.term_ids(lemmas("the state unknownword space"))


def test_save_load_round_trip_without_pickle(tmp_path: Path, lemma_lists):
    rep = fit_feed_representation(lemma_lists, dim=8, min_df=3, phrases=50, corpus="generated")
    path = tmp_path / "representation.npz"
    rep.save(path)
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert set(data.files) == {"format", "vocabulary", "idf", "projection", "info",
                                   "intercept", "activation"}
    loaded = FeedRepresentation.load(path)
    assert loaded.vocabulary == rep.vocabulary and loaded.dim == rep.dim == 8
    assert loaded.describe() == rep.describe()
    before, after = rep.transform(lemma_lists[:30]), loaded.transform(lemma_lists[:30])
    assert after.dtype == np.float32 and after.shape == (30, 8)
    # float16 storage: the vectors move by rounding only
    np.testing.assert_allclose(after, before, atol=2e-3)
    from_bytes = FeedRepresentation.load(io.BytesIO(path.read_bytes()))  # as artifacts do
    assert np.array_equal(from_bytes.projection, loaded.projection)
    loaded.save(tmp_path / "again.npz")
    assert np.array_equal(FeedRepresentation.load(tmp_path / "again.npz").projection,
                          loaded.projection)


def test_load_refuses_other_files(tmp_path: Path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a feed representation"):
        FeedRepresentation.load(tmp_path / "other.npz")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format=np.array("tagger-feed-representation/1"),
             vocabulary=np.array(["a"], dtype=object), idf=np.ones(1), projection=np.ones((1, 1)),
             info=np.array("{}"))
    with pytest.raises(ValueError, match="pickle"):
        FeedRepresentation.load(pickled)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(pickled.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a feed representation"):
        FeedRepresentation.load(truncated)


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        fit_feed_representation([["a"]], method="glove")
    with pytest.raises(ValueError, match="too few"):
        fit_feed_representation([lemmas("kalman filter")] * 30, dim=8, min_df=1)
    with pytest.raises(ValueError, match="projection"):
        FeedRepresentation(["a", "b"], np.ones(2), np.ones((3, 4)))


# arXiv categories of the generated topics; every paper is also cs.LG, and a rare category
# (fewer papers than min_papers) must not become a dimension.
TOPIC_CATEGORY = {"ssm": "eess.SY", "vision": "cs.CV", "causal": "stat.ME"}


def generated_categories(n: int = 600) -> list[list[str]]:
    rng = random.Random(5)
    categories = []
    for i in range(n):
        own = [TOPIC_CATEGORY[list(TOPICS)[i % len(TOPICS)]], "cs.LG"]
        if rng.random() < 0.1:  # filed elsewhere too now and then: noisy, like arXiv
            own.append(rng.choice(list(TOPIC_CATEGORY.values())))
        if i < 5:
            own.append("q-bio.NC")
        categories.append(own)
    return categories


@pytest.mark.parametrize("activation", ["linear", "sigmoid"])
def test_category_representation_predicts_the_category_from_the_text(lemma_lists, activation):
    """Distant supervision as a pre-training task: the representation is one classifier per
    frequent category; a text about Kalman filters and state space models scores highest on
    the category the generated SSM papers were filed in. Deterministic, and categories on
    fewer than ``min_papers`` papers (or on every paper: cs.LG) are not dimensions."""
    categories = generated_categories(len(lemma_lists))
    a = fit_category_representation(lemma_lists, categories, min_papers=20, min_df=3,
                                    activation=activation)
    b = fit_category_representation(lemma_lists, categories, min_papers=20, min_df=3,
                                    activation=activation)
    assert a.info["categories"] == ["cs.CV", "eess.SY", "stat.ME"] and a.dim == 3
    assert np.array_equal(a.projection, b.projection)
    assert a.normalise is (activation == "linear")
    texts = [lemmas("a kalman filter for a state space model with latent dynamics"),
             lemmas("image segmentation with convolution on video frames"),
             lemmas("causal discovery of a dag under intervention")]
    scores = a.transform(texts)
    assert list(scores.argmax(axis=1)) == [1, 0, 2]
    if activation == "sigmoid":
        assert ((scores > 0) & (scores < 1)).all()
        assert (scores.max(axis=1) > 0.5).all()
    with pytest.raises(ValueError, match="no category"):
        fit_category_representation(lemma_lists, categories, min_papers=10_000, min_df=3)
    with pytest.raises(ValueError, match="activation"):
        fit_category_representation(lemma_lists, categories, activation="relu")


def test_title_theme_predictors_learn_centrality_from_abstracts():
    """``title_themes``: one more target per theme named by enough titles, learnt from the
    abstract alone. Generated papers *about* state space models (title names the theme) use
    its words throughout; others mention a Kalman filter once among vision words (title does
    not). The predictor must score an abstract about the theme above one that only mentions
    it, and a theme named by too few titles is not a target."""
    rng = random.Random(3)
    ssm, vision = TOPICS["ssm"].split(), TOPICS["vision"].split()
    titles, abstracts, categories, title_themes = [], [], [], []
    for i in range(600):
        about_ssm = i % 3 == 0
        words = ([rng.choice(ssm) for _ in range(20)] if about_ssm else
                 [rng.choice(vision) for _ in range(20)] + ["kalman", "filter"])
        words += [rng.choice(FILLER) for _ in range(8)]
        rng.shuffle(words)
        titles.append(lemmas("state space model study" if about_ssm else "image study"))
        abstracts.append(lemmas(" ".join(words)))
        categories.append(["eess.SY"] if about_ssm else ["cs.CV"])
        title_themes.append(["ssm"] if about_ssm else (["rare"] if i < 9 else []))
    rep = fit_category_representation([t + a for t, a in zip(titles, abstracts, strict=True)],
                                      categories, min_papers=20, min_df=3,
                                      title_themes=title_themes, abstract_lemma_lists=abstracts,
                                      min_title_papers=20)
    assert rep.info["categories"] == ["cs.CV", "eess.SY", "title:ssm"]
    assert rep.info["min_title_papers"] == 20
    about, mentions = rep.transform([lemmas("mamba selective scan latent dynamics recurrence"),
                                     lemmas("image segmentation video frame with a kalman "
                                            "filter")])[:, 2]
    assert about > 0 > mentions
    with pytest.raises(ValueError, match="go together"):
        fit_category_representation(abstracts, categories, min_papers=20, min_df=3,
                                    title_themes=title_themes)


def test_category_representation_round_trip_and_older_files(tmp_path: Path, lemma_lists):
    """Intercept and activation are saved with the projection; a file written before they
    existed loads as the linear map it was."""
    rep = fit_category_representation(lemma_lists, generated_categories(len(lemma_lists)),
                                      min_papers=20, min_df=3, activation="sigmoid")
    rep.save(tmp_path / "categories.npz")
    loaded = FeedRepresentation.load(tmp_path / "categories.npz")
    assert loaded.activation == "sigmoid" and loaded.describe() == rep.describe()
    np.testing.assert_allclose(loaded.intercept, rep.intercept)
    np.testing.assert_allclose(loaded.transform(lemma_lists[:20]), rep.transform(lemma_lists[:20]),
                               atol=2e-3)
    older = tmp_path / "older.npz"
    np.savez(older, format=np.array("tagger-feed-representation/1"),
             vocabulary=np.array(rep.vocabulary), idf=rep.idf, projection=rep.projection,
             info=np.array("{}"))
    linear = FeedRepresentation.load(older)
    assert linear.activation == "linear" and not linear.intercept.any()
    probabilities = rep.transform(lemma_lists[:5]).astype(np.float64)
    log_odds = np.log(probabilities / (1 - probabilities))
    np.testing.assert_allclose(linear.transform(lemma_lists[:5]), log_odds - rep.intercept,
                               atol=1e-3)
    with pytest.raises(ValueError, match="intercept"):
        FeedRepresentation(rep.vocabulary, rep.idf, rep.projection, intercept=np.ones(7))


def labelled_papers(n: int = 240) -> tuple[list[dict], np.ndarray, list[str]]:
    taxonomy = load_taxonomy()
    ids = list(taxonomy.ids)
    column = {"ssm": ids.index("state-space-models"), "vision": ids.index("computer-vision"),
              "causal": ids.index("causal-discovery")}
    texts = generated_corpus(n, seed=11)
    Y = np.zeros((n, len(ids)), dtype=np.int8)
    for i in range(n):
        Y[i, column[list(TOPICS)[i % 3]]] = 1
    return [{"title": "", "abstract": t} for t in texts], Y, ids


def test_estimator_uses_a_prefit_representation_without_refitting(lemma_lists):
    rep = fit_feed_representation(lemma_lists, dim=8, min_df=3)
    projection = rep.projection.copy()
    X, Y, ids = labelled_papers()
    model = build_model(load_taxonomy(), features__representation=rep,
                        features__lsa_components=0)
    fitted = clone(model).fit(X, Y)
    names = fitted.get_feature_names_out()
    assert sum(n.startswith("representation:") for n in names) == 8
    assert np.array_equal(fitted.features_.representation.projection, projection)
    tags = fitted.predict([{"title": "", "abstract": "a mamba kalman filter of latent dynamics "
                            "with selective scan recurrence and state space model"}])
    assert tags[0, ids.index("state-space-models")] == 1
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X[:5]), fitted.predict_proba(X[:5]))


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "ppmi-phrases"])
def test_estimator_with_category_probabilities_one_paper_path_equals_batch(lemma_lists,
                                                                          activation):
    """Category probabilities enter the features at their own scale (weight x p, not unit
    length); log-odds directions (and word vectors) are unit-normalised. The estimator looks
    up content words only, which gives the representation's own vectors of the whole lemma
    lists (collocations included); the API's one-paper path gives the batch path's
    features."""
    if activation == "ppmi-phrases":
        rep = fit_feed_representation(lemma_lists, dim=8, min_df=3, method="ppmi", phrases=50)
    else:
        rep = fit_category_representation(lemma_lists, generated_categories(len(lemma_lists)),
                                          min_papers=20, min_df=3, activation=activation)
    X, Y, _ids = labelled_papers()
    fitted = build_model(load_taxonomy(), features__representation=rep,
                         features__representation_weight=0.4).fit(X, Y)
    features = fitted.features_
    rows = features.transform(X[:12]).toarray()
    block = rows[:, -rep.dim:]
    vectors = rep.transform([lemmas(x["abstract"]) for x in X[:12]])
    expected = vectors * 0.4 if activation == "sigmoid" else (
        vectors / np.linalg.norm(vectors, axis=1, keepdims=True) * 0.4)
    np.testing.assert_allclose(block, expected, atol=1e-5)
    for i, record in enumerate(X[:12]):
        columns, values, dense = features.one_row(Lemmatised(as_fields([record])))
        row = np.zeros(rows.shape[1])
        np.add.at(row, columns, values)
        row[rows.shape[1] - len(dense):] += dense
        np.testing.assert_allclose(row, rows[i], atol=1e-6)
    # the API's compiled path reads the representation's terms (collocations included)
    compiled = CompiledScorer.compile(features, fitted.classifier_)
    batch_scores = fitted.predict_proba(X[:12])
    for i, record in enumerate(X[:12]):
        np.testing.assert_allclose(compiled.scores(record["title"], record["abstract"])[0],
                                   batch_scores[i], atol=1e-5)


def test_feed_reader_sample_and_categories(tmp_path: Path):
    path = tmp_path / "feed.jsonl.gz"
    rows = [{"id": f"arxiv:{i}", "title": f"T{i}", "abstract": f"abstract {i}",
             "categories": ["cs.CV", "cs.LG"] if i % 2 else "physics.flu-dyn cs.LG",
             "month": "2025-01"} for i in range(10)] + [{"id": "x", "abstract": ""}]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows) + "\n")
    papers = list(read_feed(path))
    assert len(papers) == 10 and papers[0].categories == ("physics.flu-dyn", "cs.LG")
    assert sample_feed(papers, 4, seed=0) == sample_feed(papers, 4, seed=0)
    assert len(sample_feed(papers, 4, seed=0)) == 4 and sample_feed(papers, None) == papers
    assert category_themes(papers[1].categories) == {"computer-vision"}
    assert category_themes(papers[0].categories) == {"scientific-ml"}
    assert category_themes(("physics.flu-dyn",)) == set()  # physics without ML: no theme
    assert category_themes(("cs.SD", "cs.CL")) == {"speech-and-audio",
                                                     "language-models-and-nlp"}


def test_feed_labels_join_the_feed_text_by_id(tmp_path: Path):
    """Labels of feed papers are ids and tags only; the text comes from the feed (a paper the
    feed holds twice is taken once, in label order). Bad lines, repeated ids and ids the
    feed lacks are refused, naming the file and line or the id."""
    feed = tmp_path / "feed.jsonl"
    rows = [{"id": f"arxiv:{i}", "title": f"T{i}", "abstract": f"abstract {i}",
             "categories": ["cs.LG"], "month": f"2026-0{1 + i % 3}"} for i in range(6)]
    rows.append({**rows[2], "title": "a second copy"})
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "arxiv:4", "tags": ["automl"]}\n\n'
                      '{"id": "arxiv:2", "tags": []}\n')
    docs = labelled_feed_papers(read_labels_by_id(labels), read_feed(feed))
    assert [(d.id, d.title, d.tags, d.month) for d in docs] == [
        ("arxiv:4", "T4", ("automl",), "2026-02"), ("arxiv:2", "T2", (), "2026-03")]
    assert docs[0].abstract == "abstract 4"
    for text, message in [('{"id": "arxiv:1"}\n', ':1: expected {"id", "tags"}'),
                          ('{"id": "arxiv:1", "tags": []}\nnot json\n', ":2: expected"),
                          ('{"id": "arxiv:1", "tags": "automl"}\n', ":1: tags must be"),
                          ('{"id": "arxiv:1", "tags": []}\n{"id": "arxiv:1", "tags": []}\n',
                           ":2: id arxiv:1 is labelled twice")]:
        labels.write_text(text)
        with pytest.raises(ValueError, match=message):
            read_labels_by_id(labels)
    with pytest.raises(ValueError, match="not in the feed, e.g. arxiv:99"):
        labelled_feed_papers({"arxiv:1": (), "arxiv:99": ()}, read_feed(feed))


def test_committed_feed_representation_loads_and_knows_the_field():
    """The shipped artifact (built by ``python -m training.experiments.stream --build
    ppmi256-p --to tagger/data/feed_representation.npz``) loads without pickle and puts Mamba
    next to state space models."""
    path = Path(__file__).resolve().parents[1] / "tagger" / "data" / "feed_representation.npz"
    rep = FeedRepresentation.load(path)
    facts = rep.describe()
    assert facts["method"] == "ppmi" and facts["documents"] == 176332 and rep.dim == 256
    vectors = rep.transform([lemmas("Mamba"), lemmas("selective state space model (SSM)"),
                             lemmas("image segmentation")])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.parametrize("method", ["lsa", "ppmi", "categories"])
def test_one_paper_transform_equals_the_batch_transform(lemma_lists, method):
    """``transform_one`` (the API's path) gives ``transform``'s row, including collocations,
    repeated words and papers with no known word."""
    if method == "categories":
        rep = fit_category_representation(lemma_lists, generated_categories(len(lemma_lists)),
                                          min_papers=20, min_df=3, activation="sigmoid")
    else:
        rep = fit_feed_representation(lemma_lists, dim=8, min_df=3, method=method, phrases=50)
    papers = lemma_lists[:25] + [lemmas("state space state space model"), lemmas("qwertz"), []]
    batch = rep.transform(papers)
    for i, paper in enumerate(papers):
        np.testing.assert_allclose(rep.transform_one(paper), batch[i], atol=1e-6,
                                   err_msg=f"paper {i}")


def test_word_idf_pooled_with_a_reference_corpus():
    """``idf_reference``: the word block's IDF is the smoothed IDF over the labelled papers and
    the reference papers together, ln((1 + n + N) / (1 + df + df_ref)) + 1, computed by hand
    here from the labelled papers' own document frequencies; n-grams the reference never
    saw keep their labelled count, and scoring uses the pooled IDF."""
    X, Y, _ids = labelled_papers(60)
    plain = build_model(load_taxonomy(), features__lsa_components=0).fit(X, Y)
    vocabulary = plain.features_.word_vectorizer_.vocabulary_
    reference = DocumentFrequencies(1000, {"kalman": 900, "mamba": 10, "kalman filter": 5})
    pooled = build_model(load_taxonomy(), features__lsa_components=0,
                         features__idf_reference=reference).fit(X, Y)
    assert pooled.features_.word_vectorizer_.vocabulary_ == vocabulary
    papers = [set(lemmas(x["abstract"])) for x in X]
    for term in ("kalman", "mamba", "image"):
        df = sum(term in words for words in papers)
        expected = np.log((1 + len(X) + 1000) / (1 + df + reference.counts.get(term, 0))) + 1
        assert pooled.features_.word_idf_[vocabulary[term]] == pytest.approx(expected, rel=1e-5)
    assert (pooled.features_.word_idf_[vocabulary["kalman"]]
            < pooled.features_.word_idf_[vocabulary["mamba"]])
    rows = pooled.features_.transform(X[:3]).toarray()[:, :len(vocabulary)]
    plain_rows = plain.features_.transform(X[:3]).toarray()[:, :len(vocabulary)]
    assert not np.allclose(rows, plain_rows)
    for i, record in enumerate(X[:3]):
        columns, values, _dense = pooled.features_.one_row(Lemmatised(as_fields([record])))
        row = np.zeros(len(vocabulary) + 1)
        np.add.at(row, columns, values)
        np.testing.assert_allclose(row[:len(vocabulary)], rows[i], atol=1e-6)
