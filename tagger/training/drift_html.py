"""Pictures and a self-contained HTML page for a drift report (:mod:`tagger.training.drift`).

The page embeds its PNGs as data URIs and has no script and no external link, so it can be
mailed or opened offline; the same PNGs are written next to it for slides and docs.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tagger.training.drift import describe_flag, describe_theme_flags, flags_by_theme

PLOTS = ("volume", "share", "scores", "psi")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def _shown(report: dict) -> list[dict]:
    """Periods worth plotting: the reference and the judged ones (not the near-empty ones)."""
    return [row for row in report["periods"] if row["reference"] or row["judged"]]


def _ticks(axes, labels: list[str], every: int | None = None) -> None:
    step = every or max(1, math.ceil(len(labels) / 10))
    positions = list(range(0, len(labels), step))
    axes.set_xticks(positions)
    axes.set_xticklabels([labels[i] for i in positions], rotation=60, fontsize=7)


def _flagged(row: dict, theme: str, kind: str) -> bool:
    return any(f["theme"] == theme and f["kind"] == kind for f in row["flags"])


def plot_volume(report: dict, path: Path) -> None:
    """Papers per period (bars) and the out-of-vocabulary rate (line)."""
    plt = _pyplot()
    rows = _shown(report)
    labels = [r["period"] for r in rows]
    x = np.arange(len(rows))
    figure, axes = plt.subplots(figsize=(10, 3.6), dpi=100)
    colors = ["#9bb7d4" if r["reference"] else "#4c72b0" for r in rows]
    axes.bar(x, [r["papers"] for r in rows], color=colors)
    axes.set_ylabel("papers")
    twin = axes.twinx()
    twin.plot(x, [100 * r["oov_rate"] for r in rows], color="#c44e52", marker=".",
              label="out-of-vocabulary words, %")
    flagged = [i for i, r in enumerate(rows) if any(f["kind"] == "oov" for f in r["flags"])]
    twin.scatter(flagged, [100 * rows[i]["oov_rate"] for i in flagged], color="red", s=40,
                 zorder=3, label="OOV flag")
    twin.set_ylabel("OOV words, %")
    twin.legend(loc="upper left", fontsize=8)
    _ticks(axes, labels)
    axes.set_title("Papers per period (light: reference) and out-of-vocabulary rate")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _small_multiples(report: dict, path: Path, title: str,
                     panel: Callable[[Any, str, list[dict], np.ndarray], None]) -> None:
    """One panel per theme, four to a row, periods along a shared x axis: ``panel(ax, theme,
    rows, x)`` draws one; unused panels are hidden, the bottom row labelled, the file saved."""
    plt = _pyplot()
    rows = _shown(report)
    labels = [r["period"] for r in rows]
    themes = report["themes"]
    columns = 4
    grid_rows = math.ceil(len(themes) / columns)
    figure, axes = plt.subplots(grid_rows, columns, figsize=(13, 2.3 * grid_rows), dpi=90,
                                sharex=True)
    axes = np.atleast_1d(axes).ravel()
    x = np.arange(len(rows))
    for ax, theme in zip(axes, themes, strict=False):
        panel(ax, theme, rows, x)
        ax.set_title(theme, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(themes):]:
        ax.axis("off")
    for ax in axes[-columns:]:
        _ticks(ax, labels, every=max(1, math.ceil(len(labels) / 5)))
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_share(report: dict, path: Path) -> None:
    """Small multiples: each theme's share of papers per period, the reference share dashed,
    rate flags in red."""
    def panel(ax, theme: str, rows: list[dict], x: np.ndarray) -> None:
        shares = [100 * (r["themes"][theme]["share"] or 0) for r in rows]
        ax.plot(x, shares, color="#4c72b0", lw=1.2)
        ax.axhline(100 * (report["reference"]["share"][theme] or 0), color="grey", ls="--",
                   lw=0.8)
        hits = [i for i, r in enumerate(rows) if _flagged(r, theme, "rate")]
        ax.scatter(hits, [shares[i] for i in hits], color="red", s=14, zorder=3)
        ax.set_ylim(bottom=0)

    _small_multiples(report, path, "Share of papers tagged with each theme, % (dashed: "
                     "reference; red: flag)", panel)


def plot_scores(report: dict, path: Path) -> None:
    """Small multiples: each theme's mean, 90th and 99th percentile score per period."""
    def panel(ax, theme: str, rows: list[dict], x: np.ndarray) -> None:
        for key, style in (("mean_score", "-"), ("p90", "--"), ("p99", ":")):
            ax.plot(x, [r["themes"][theme][key] or 0 for r in rows], ls=style, lw=1.1,
                    label=key.replace("_score", ""))
        hits = [i for i, r in enumerate(rows) if _flagged(r, theme, "scores")]
        ax.scatter(hits, [rows[i]["themes"][theme]["p99"] or 0 for i in hits], color="red",
                   s=14, zorder=3)
        ax.set_ylim(0, 1)
        if theme == report["themes"][0]:
            ax.legend(fontsize=6, loc="upper left")

    _small_multiples(report, path, "Theme scores per period: mean, 90th and 99th percentile "
                     "(red: PSI flag)", panel)


def plot_psi(report: dict, path: Path) -> None:
    """Heat map of the PSI of every theme's scores per period against the reference; cells at
    or over the threshold are outlined."""
    plt = _pyplot()
    rows = _shown(report)
    labels = [r["period"] for r in rows]
    themes = report["themes"]
    values = np.array([[r["themes"][t]["psi"] or 0.0 for r in rows] for t in themes])
    threshold = report["thresholds"]["psi"]
    figure, axes = plt.subplots(figsize=(10, 0.28 * len(themes) + 1.6), dpi=100)
    image = axes.imshow(values, aspect="auto", cmap="viridis", vmin=0,
                        vmax=max(threshold * 2, float(values.max()) if values.size else 0))
    for i, j in zip(*np.nonzero(values >= threshold), strict=True):
        axes.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
    axes.set_yticks(range(len(themes)))
    axes.set_yticklabels(themes, fontsize=7)
    _ticks(axes, labels)
    figure.colorbar(image, ax=axes, label="PSI vs reference")
    axes.set_title(f"Score-distribution shift (PSI; red outline: >= {threshold})")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_plots(report: dict, out_dir: Path, stem: str = "drift") -> list[Path]:
    """The four PNGs, ``STEM-volume.png`` etc.; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    painters = {"volume": plot_volume, "share": plot_share, "scores": plot_scores,
                "psi": plot_psi}
    paths = []
    for name in PLOTS:
        path = out_dir / f"{stem}-{name}.png"
        painters[name](report, path)
        paths.append(path)
    return paths


_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;
font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}td.flag{background:#f8c9c4;font-weight:bold}
td.ref{background:#e3ecf7}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.note{color:#555;font-size:13px;max-width:60em}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def render_html(report: dict, plots: list[Path], title: str = "Drift report") -> str:
    """The page: summary, flags, the pictures, and the per-period tables."""
    e = html.escape
    ref = report["reference"]
    t = report["thresholds"]
    model = report.get("model", {})
    timing = report.get("timing", {})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{e(title)}</h1>"]
    source = report.get("input", {})
    parts.append(
        "<p class='note'>"
        f"Feed <b>{e(str(source.get('feed', '')))}</b>, model <b>{e(str(model.get('name')))} "
        f"{e(str(model.get('version')))}</b>, by {e(report['by'])}. "
        f"Reference: {e(', '.join(ref['periods']))} ({ref['papers']:,} papers). "
        f"{source.get('scored', 0):,} papers scored in {timing.get('seconds', '?')} s"
        + (f" (sample: at most {source['sample']} per period)" if source.get("sample") else "")
        + ". Flags: a theme's share moved by x"
        f"{t['rate_ratio']} or more (the whole {t['rate_z']}-standard-error interval of the "
        "ratio); its score distribution's "
        f"PSI &ge; {t['psi']}; out-of-vocabulary words up {t['oov_rise']:.0%} or more. "
        f"Periods with fewer than {t['min_papers']} papers are listed but not judged.</p>")
    parts.append(f"<h2>Flags ({len(report['flags'])})</h2>")
    if report["flags"]:
        parts.append("<p>By theme:</p><ul>" + "".join(
            f"<li>{e(describe_theme_flags(row))}</li>" for row in flags_by_theme(report))
            + "</ul><details><summary>Every flag</summary>")
        parts.append("<ul>" + "".join(f"<li>{e(describe_flag(f))}</li>"
                                      for f in report["flags"]) + "</ul></details>")
    else:
        parts.append("<p>No flags: nothing moved beyond the thresholds.</p>")
    parts += [_img(p) for p in plots]
    parts.append("<h2>Periods</h2><table><tr><th class='l'>period</th><th>papers</th>"
                 "<th>no theme</th><th>OOV words</th><th>flags</th>"
                 "<th class='l'>top categories</th></tr>")
    for row in report["periods"]:
        css = " class='ref'" if row["reference"] else ""
        cats = ", ".join(f"{c} {n}" for c, n in row["top_categories"][:3])
        parts.append(f"<tr><td class='l'{css}>{e(row['period'])}</td><td>{row['papers']:,}</td>"
                     f"<td>{row['no_theme_share']:.1%}</td><td>{row['oov_rate']:.1%}</td>"
                     f"<td>{len(row['flags'])}</td><td class='l'>{e(cats)}</td></tr>")
    parts.append("</table><h2>Share of papers per theme, %</h2>")
    themes = report["themes"]
    parts.append("<table><tr><th class='l'>period</th>"
                 + "".join(f"<th>{e(th)}</th>" for th in themes) + "</tr>")
    parts.append("<tr><td class='l ref'>reference</td>" + "".join(
        f"<td class='ref'>{100 * (ref['share'][th] or 0):.2f}</td>" for th in themes) + "</tr>")
    for row in report["periods"]:
        cells = []
        for th in themes:
            cell = row["themes"][th]
            css = " class='flag'" if any(f["theme"] == th for f in row["flags"]) else ""
            cells.append(f"<td{css} title='mean {cell['mean_score']}, p90 {cell['p90']}, "
                         f"PSI {cell['psi']}'>{100 * (cell['share'] or 0):.2f}</td>")
        parts.append(f"<tr><td class='l'>{e(row['period'])}</td>{''.join(cells)}</tr>")
    parts.append("</table><p class='note'>Hover a cell for the mean score, 90th percentile and "
                 "PSI; a shaded cell has a flag. The same numbers are in the JSON report.</p>"
                 "</body></html>")
    return "\n".join(parts)


def write_html(report: dict, out: Path) -> list[Path]:
    """Write ``out`` (self-contained) and its PNGs next to it (``STEM-volume.png``, ...);
    returns the PNG paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, out.parent, stem=out.stem)
    out.write_text(render_html(report, plots), encoding="utf-8")
    return plots
