"""``tagger info``: describe a model from its (verified) manifest.

The manifest is checked by :func:`tagger.artifact.verify_model_dir` for what loading needs;
the descriptive fields printed here (training facts, metrics) may still hold anything, so each
is printed defensively: a field of an unexpected type shows as ``?``, never a traceback.
"""

from __future__ import annotations

import json

from tagger.cli.common import (
    EXIT_OK,
    add_model_argument,
    model_errors,
    resolved_model_dir,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="show a model's manifest (version, data, metrics)")
    add_model_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(handler=run)


def _get(data: object, *keys: str) -> object:
    """``data[k1][k2]...`` or None when any level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: object) -> str:
    return "?" if value is None or isinstance(value, (dict, list)) else str(value)


def _number(value: object, fmt: str = ".3f") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "?"
    return format(value, fmt)


def run(args) -> int:
    from tagger.artifact import verify_model_dir

    model_dir = resolved_model_dir(args.model)
    with model_errors(model_dir):
        manifest = verify_model_dir(model_dir)
    if args.json:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"model      {_text(manifest.get('name'))} {_text(manifest.get('model_version'))} "
          f"({model_dir})")
    print(f"created    {_text(manifest.get('created'))}")
    print(f"design     {_text(_get(manifest, 'design', 'name'))}")
    representation = manifest.get("representation")
    if isinstance(representation, dict):  # a block learnt from the arXiv feed
        print(f"feed block {_text(representation.get('method'))}, "
              f"{_text(representation.get('dim'))} dimensions, "
              f"{_text(representation.get('terms'))} terms, "
              f"{_text(representation.get('documents'))} feed papers")
    themes = _get(manifest, "taxonomy", "themes")
    print(f"taxonomy   {_text(_get(manifest, 'taxonomy', 'name'))} "
          f"v{_text(_get(manifest, 'taxonomy', 'version'))}, "
          f"{len(themes) if isinstance(themes, list) else '?'} themes")
    data = manifest.get("training_data")
    for entry in data if isinstance(data, list) else []:
        print(f"data       {_text(_get(entry, 'file'))} ({_text(_get(entry, 'records'))} "
              "records)")
    training = manifest.get("training")
    print(f"training   {_text(_get(training, 'n_documents'))} documents, "
          f"seed {_text(_get(training, 'seed'))}, {_text(_get(training, 'cv_folds'))}-fold CV")
    metrics = manifest.get("cv_metrics")
    if metrics:
        print(f"cv         micro-F1 {_number(_get(metrics, 'micro_f1'))}  "
              f"macro-F1 {_number(_get(metrics, 'macro_f1'))}")
    thresholds = manifest.get("thresholds")
    if isinstance(thresholds, dict):
        print("thresholds " + ", ".join(f"{k}={_number(v, '.2f')}"
                                        for k, v in thresholds.items()))
    return EXIT_OK
