"""``tagger info``: describe a model from its (verified) manifest."""

from __future__ import annotations

import json

from tagger.artifact import ModelError, verify_model_dir
from tagger.cli.common import EXIT_OK, CommandError, add_model_argument, resolved_model_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="show a model's manifest")
    add_model_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(handler=run)


def run(args) -> int:
    model_dir = resolved_model_dir(args.model)
    try:
        manifest = verify_model_dir(model_dir)
    except ModelError as error:
        raise CommandError(str(error)) from None
    if args.json:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
        return EXIT_OK
    metrics = manifest.get("cv_metrics") or {}
    training = manifest.get("training", {})
    print(f"model      {manifest.get('name', '?')} {manifest.get('model_version', '?')} "
          f"({model_dir})")
    print(f"created    {manifest.get('created', '?')}")
    print(f"design     {manifest.get('design', {}).get('name', '?')}")
    taxonomy = manifest["taxonomy"]  # checked by verify_model_dir
    print(f"taxonomy   {taxonomy.get('name')} v{taxonomy.get('version')}, "
          f"{len(taxonomy['themes'])} themes")
    for entry in manifest.get("training_data", []):
        print(f"data       {entry.get('file')} ({entry.get('records')} records)")
    print(f"training   {training.get('n_documents', '?')} documents, seed {training.get('seed')}, "
          f"{training.get('cv_folds')}-fold CV")
    if metrics:
        print(f"cv         micro-F1 {metrics['micro_f1']:.3f}  macro-F1 {metrics['macro_f1']:.3f}")
    thresholds = manifest.get("thresholds") or {}
    print("thresholds " + ", ".join(f"{k}={v:.2f}" for k, v in thresholds.items()))
    return EXIT_OK
