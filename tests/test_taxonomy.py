"""The taxonomy data file: the packaged one matches the guidelines, broken ones are refused
with a message naming the file and the problem."""

from __future__ import annotations

import re

import pytest

from tagger.taxonomy import DEFAULT_TAXONOMY_PATH, Taxonomy, TaxonomyError, load_taxonomy

GUIDELINE_IDS = [
    "autoregressive-models", "non-autoregressive-generation", "diffusion-models",
    "state-space-models", "automl", "causal-discovery", "causal-inference", "time-series",
    "efficient-inference", "knowledge-distillation", "autoencoders", "interpretability",
    "language-models-and-nlp", "computer-vision", "speech-and-audio", "graph-learning",
    "synthetic-data", "scientific-ml", "reinforcement-learning",
]


def test_packaged_taxonomy_has_the_19_guideline_themes_in_order():
    taxonomy = load_taxonomy()
    assert taxonomy.ids == GUIDELINE_IDS
    for theme in taxonomy.themes:
        assert theme.label and theme.label != theme.id
        assert len(theme.description.split()) >= 15, theme.id  # a real paragraph
        assert theme.phrases, theme.id
        assert all(phrase == phrase.lower().strip() for phrase in theme.phrases)


def test_packaged_taxonomy_matches_the_guidelines_file(shared_dir):
    guidelines = (shared_dir / "taxonomy" / "GUIDELINES.md").read_text(encoding="utf-8")
    ids = re.findall(r"^\| `([a-z0-9-]+)` \|", guidelines, flags=re.MULTILINE)
    assert ids == GUIDELINE_IDS
    assert load_taxonomy().ids == ids


def test_round_trip_through_dict_keeps_everything():
    taxonomy = load_taxonomy()
    again = Taxonomy.from_dict(taxonomy.to_dict())
    assert again == taxonomy
    assert again.fingerprint() == taxonomy.fingerprint()


def test_fingerprint_depends_on_ids_and_order_only():
    base = {"themes": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]}
    relabelled = {"themes": [{"id": "a", "label": "Other", "phrases": ["x"]}, {"id": "b"}]}
    swapped = {"themes": [{"id": "b"}, {"id": "a"}]}
    fingerprint = Taxonomy.from_dict(base).fingerprint()
    assert Taxonomy.from_dict(relabelled).fingerprint() == fingerprint
    assert Taxonomy.from_dict(swapped).fingerprint() != fingerprint


def test_custom_taxonomy_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nversion = "2"\n'
        '[[themes]]\nid = "bees"\nlabel = "Bees"\ndescription = """Papers\n about  bees."""\n'
        'phrases = ["Honey Bee", "  hive "]\n'
        '[[themes]]\nid = "wasps-2"\n',
        encoding="utf-8",
    )
    taxonomy = load_taxonomy(path)
    assert (taxonomy.name, taxonomy.version, taxonomy.ids) == ("mine", "2", ["bees", "wasps-2"])
    bees = taxonomy["bees"]
    assert bees.description == "Papers about bees."
    assert bees.phrases == ("honey bee", "hive")
    assert taxonomy["wasps-2"].label == "wasps-2"  # label defaults to the id
    assert taxonomy.index("wasps-2") == 1
    with pytest.raises(KeyError):
        taxonomy["ants"]


@pytest.mark.parametrize(("body", "message"), [
    ('name = "x"\n[[themes]\nid = "a"\n', "not valid TOML"),
    ('name = "x"\n', "no [[themes]] entries"),
    ("themes = []\n", "defines no themes"),
    ('[[themes]]\nid = "a"\n[[themes]]\nid = "a"\n', "theme id 'a' appears twice"),
    ('[[themes]]\nid = "Time Series"\n', "lowercase kebab-case, got 'Time Series'"),
    ('[[themes]]\nid = "a--b"\n', "got 'a--b'"),
    ('[[themes]]\nlabel = "no id"\n', "theme #1 needs an 'id'"),
    ('[[themes]]\nid = 3\n', "got 3"),
    ('[[themes]]\nid = "a"\nphrases = "one"\n', "'phrases' must be strings"),
    ('themes = 3\n', "'themes' must be an array"),
])
def test_bad_taxonomy_files_are_refused_with_the_file_named(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TaxonomyError) as error:
        load_taxonomy(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_missing_taxonomy_file(tmp_path):
    with pytest.raises(TaxonomyError, match="cannot read taxonomy"):
        load_taxonomy(tmp_path / "nope.toml")


def test_default_path_is_packaged_data():
    assert DEFAULT_TAXONOMY_PATH.is_file()
    assert load_taxonomy(DEFAULT_TAXONOMY_PATH) == load_taxonomy()
