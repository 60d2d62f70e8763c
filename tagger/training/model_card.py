"""Render a model's manifest as a human-readable ``MODEL_CARD.md``."""

from __future__ import annotations


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def render_model_card(manifest: dict) -> str:
    taxonomy = manifest["taxonomy"]
    training = manifest.get("training", {})
    lines = [
        f"# Model card: {manifest['name']} {manifest['model_version']}",
        "",
        f"Created {manifest['created']} with tagger {manifest['library_versions'].get('tagger')}"
        f" (scikit-learn {manifest['library_versions'].get('scikit-learn')}).",
        "",
        "## What it does",
        "",
        f"Tags research-paper abstracts with the {len(taxonomy['themes'])} themes of taxonomy "
        f"`{taxonomy['name']}` v{taxonomy['version']}. A paper gets every theme whose probability "
        "reaches that theme's threshold; most papers outside machine learning get none.",
        "",
        "## Design",
        "",
        f"`{manifest.get('design', {}).get('name', 'unknown')}`: "
        "lemma uni/bigram TF-IDF (title counted again) + taxonomy phrase counts (text and "
        "title) + a 300-dimension LSA block learnt with unlabelled abstracts, one "
        "class-weighted logistic regression per theme, per-theme thresholds tuned "
        "by cross-validation (see `training/EXPERIMENTS.md`).",
        "",
        "## Training data",
        "",
    ]
    for entry in manifest.get("training_data", []):
        # Standard input has no file to hash; say so instead of a checksum.
        digest = f"sha256 `{entry['sha256'][:16]}…`" if entry.get("sha256") else "read from stdin"
        role = " (unlabelled: features only)" if entry.get("unlabelled") else (
            " (silver labels)" if entry.get("silver") else "")
        lines.append(f"- `{entry['file']}`{role}: {entry['records']} records, {digest}")
    lines += ["", f"{training.get('n_documents', '?')} documents, seed {training.get('seed')}, "
              f"{training.get('cv_folds')}-fold cross-validation, "
              f"{training.get('seconds', '?')} s to train.", ""]
    metrics = manifest.get("cv_metrics")
    if metrics:
        lines += [
            "## Cross-validated quality",
            "",
            f"Micro-F1 **{metrics['micro_f1']:.3f}**, macro-F1 **{metrics['macro_f1']:.3f}**, "
            f"exact match {metrics['exact_match']:.3f}; no-theme papers wrongly tagged: "
            f"{metrics['no_theme_false_positive_rate']:.1%}. Thresholds for each fold were tuned "
            "on the other folds only.",
            "",
            "| theme | threshold | precision | recall | F1 | support |",
            "|---|---|---|---|---|---|",
        ]
        for theme, row in metrics["per_theme"].items():
            lines.append(
                f"| {theme} | {manifest['thresholds'][theme]:.2f} | {_fmt(row['precision'])} | "
                f"{_fmt(row['recall'])} | {_fmt(row['f1'])} | {row['support']} |"
            )
        lines.append("")
    curve = manifest.get("learning_curve")
    if curve:
        lines += ["## Learning curve", "", "What more labels buy (cross-validated):", "",
                  "| training abstracts | micro-F1 | macro-F1 |", "|---|---|---|"]
        for point in curve:
            lines.append(f"| {point['n_train']} | {point['micro_f1']:.3f} | "
                         f"{point['macro_f1']:.3f} |")
        lines.append("")
    lines += [
        "## Limits",
        "",
        "Trained on English ML abstracts; quality drops on other languages and fields. Themes "
        "with few training examples have noisier thresholds. Scores are calibrated only "
        "approximately: compare a score with its theme's threshold, not across themes.",
        "",
    ]
    return "\n".join(lines)
