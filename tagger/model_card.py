"""Render a model's manifest as a human-readable ``MODEL_CARD.md`` (part of the core: writing
a model never needs the training package)."""

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
        f"`{taxonomy['name']}` v{taxonomy['version']}. Every theme's score is calibrated so that a "
        "paper gets exactly the themes scoring at least 0.5, and a score means the same for "
        "every theme; most papers outside machine learning get none.",
        "",
        "## Design",
        "",
        f"`{manifest.get('design', {}).get('name', 'unknown')}`: "
        "title and abstract kept apart; lemma uni/bigram TF-IDF of the paper with the title "
        "counted again, taxonomy phrase counts (paper and title), a latent semantic block "
        "learnt with unlabelled abstracts" + _representation_text(manifest.get("representation"))
        + "; one class-weighted logistic "
        "regression per theme; per-theme F-beta thresholds and calibration learnt on "
        "out-of-fold scores inside `fit` (see `training/EXPERIMENTS.md`).",
        "",
        "## Training data",
        "",
    ]
    for entry in manifest.get("training_data", []):
        if entry.get("reviews"):  # labels from the review loop (tagger labels)
            r = entry["reviews"]
            lines.append(f"- reviewed labels from the label store: {entry['records']} papers, "
                         f"{r['decisions']} decisions by {r['reviewers']} reviewers, "
                         f"{(r['first'] or '?')[:10]} to {(r['last'] or '?')[:10]}")
            for source, count in (r.get("imported") or {}).items():
                lines.append(f"  - imported source `{source}`: {count} papers")
            continue
        # Standard input has no file to hash; say so instead of a checksum.
        digest = f"sha256 `{entry['sha256'][:16]}…`" if entry.get("sha256") else "read from stdin"
        role = " (unlabelled: features only)" if entry.get("unlabelled") else (
            " (silver labels)" if entry.get("silver") else
            " (selected sample: trains, tunes thresholds on its random part only)"
            if entry.get("selected") else "")
        lines.append(f"- `{entry['file']}`{role}: {entry['records']} records, {digest}")
    lines += ["", f"{training.get('n_documents', '?')} documents, seed {training.get('seed')}, "
              f"{training.get('cv_folds')}-fold cross-validation, "
              f"{training.get('seconds', '?')} s to train.", ""]
    tuning = training.get("no_theme_tuning")
    if tuning:
        lines += [f"Thresholds were tuned with the papers without a theme weighted "
                  f"{tuning['factor']:.2f}x, to {tuning['share']:.0%} of the tuning rows: "
                  "the share of such papers in the stream the model is for.", ""]
    metrics = manifest.get("cv_metrics")
    if metrics:
        lines += [
            "## Cross-validated quality",
            "",
            f"Micro-F1 **{metrics['micro_f1']:.3f}**, macro-F1 **{metrics['macro_f1']:.3f}**, "
            f"exact match {metrics['exact_match']:.3f}; no-theme papers wrongly tagged: "
            f"{metrics['no_theme_false_positive_rate']:.1%}. Nested: each fold's model tuned its "
            "thresholds and calibration on its own training folds only."
            + (f" Expected calibration error {manifest['cv_calibration']['ece']:.3f}."
               if manifest.get("cv_calibration") else ""),
            "",
            "| theme | raw threshold | precision | recall | F1 | support |",
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
                  "| training abstracts | micro-F1 |", "|---|---|"]
        for point in curve:
            lines.append(f"| {point['n_train']} | {point['micro_f1']:.3f} |")
        lines.append("")
    lines += [
        "## Limits",
        "",
        "Trained on English ML abstracts; quality drops on other languages and fields. Themes "
        "with few training examples have noisier thresholds and calibration.",
        "",
    ]
    return "\n".join(lines)


def _representation_text(facts: dict | None) -> str:
    """The design sentence's part on a representation learnt from the arXiv feed."""
    if not facts:
        return ""
    if facts.get("method") == "categories":
        return (f" and predictors of {facts.get('dim', '?')} arXiv categories learnt from "
                f"{facts.get('documents', '?')} feed papers (distant supervision)")
    return f" and a {facts.get('method', '?')} representation learnt from the arXiv feed"
