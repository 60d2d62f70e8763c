"""ThemeClassifier from plain scikit-learn code (the README's example; tests/test_estimator.py
runs this file, so the two cannot drift). Needs ``labelled.jsonl`` in the working directory:
JSON Lines with ``title``, ``abstract`` and ``tags`` (theme ids of tagger/data/taxonomy.toml)."""

import json

from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import MultiLabelBinarizer

from tagger.estimator import build_model
from tagger.taxonomy import load_taxonomy

records = [json.loads(line) for line in open("labelled.jsonl", encoding="utf-8")]
X = [{"title": r.get("title", ""), "abstract": r["abstract"]} for r in records]
Y = MultiLabelBinarizer(classes=load_taxonomy().ids).fit_transform(r["tags"] for r in records)
model = build_model(load_taxonomy())  # a scikit-learn classifier: clone, GridSearchCV, pickle
print("micro-F1 per fold:", cross_val_score(model, X, Y, scoring="f1_micro", cv=3).round(3))
model.fit(X, Y)
scores = model.predict_proba([{"title": "", "abstract": "A selective state space model."}])
print({t: round(float(s), 3) for t, s in zip(model.classes_, scores[0], strict=True) if s >= 0.5})
