"""ThemeClassifier from plain scikit-learn code (docs/python.md's example; tests/test_estimator.py
runs this file and checks docs/python.md shows it, so the two cannot drift). Needs
``labelled.jsonl`` in the working directory: JSON Lines with ``title``, ``abstract`` and
``tags`` (theme ids of tagger/data/taxonomy.toml)."""

from sklearn.model_selection import cross_val_score

from tagger.corpus import read_labelled
from tagger.estimator import build_model

X, Y = read_labelled("labelled.jsonl")  # X: {"title", "abstract"} records; Y: 0/1 per theme
model = build_model()  # the shipped design: a scikit-learn classifier (clone, GridSearchCV, pickle)
print("micro-F1 per fold:", cross_val_score(model, X, Y, scoring="f1_micro", cv=3).round(3))
model.fit(X, Y)
print(list(model.classes_[model.predict([{"abstract": "A selective state space model."}])[0] == 1]))
