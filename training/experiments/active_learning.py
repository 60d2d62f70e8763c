"""Active-learning simulation: which queue strategy gets the best model for a label budget?

The labelled data (``../shared/corpus/labels``) is split once into a fixed held-out test set
and a pool whose labels are hidden. Every run starts from the same random labelled set; each
strategy then asks for labels in rounds until it has ``budgets`` labels in total (the model
is retrained after every round with ``train_tagger(..., folds=0)`` and the round's picks
scored by the model of the previous round), and every model is scored on the held-out set
(micro- and macro-F1 of the calibrated tags, score >= 0.5). ``random`` is the baseline.

    nice -n 10 .venv/bin/python -m training.experiments.active_learning   # ~10 min on 2 cores

Writes ``docs/img/active_learning.json`` and ``docs/img/active_learning.png`` and prints the
markdown table of ``training/ACTIVE_LEARNING.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tagger.corpus import Document, read_documents
from tagger.review import strategies
from tagger.review.queue import informativeness
from tagger.taxonomy import load_taxonomy
from training.experiments.designs import CORE_THEMES  # the simulation reports their F1 too

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO.parent / "shared" / "corpus" / "labels"


def _f1(tagger, test: list[Document]) -> dict:
    from sklearn.metrics import f1_score

    ids = tagger.taxonomy.ids
    truth = np.array([[t in (d.tags or ()) for t in ids] for d in test], dtype=int)
    predicted = (tagger.score(test) >= strategies.DECISION).astype(int)
    present = truth.sum(axis=0) > 0
    core = [ids.index(t) for t in CORE_THEMES if t in ids and truth[:, ids.index(t)].any()]
    return {"micro_f1": round(float(f1_score(truth, predicted, average="micro",
                                             zero_division=0)), 4),
            "macro_f1": round(float(f1_score(truth[:, present], predicted[:, present],
                                             average="macro", zero_division=0)), 4),
            "core_f1": round(float(f1_score(truth[:, core], predicted[:, core],
                                            average="macro", zero_division=0)), 4)
            if core else None}


def run(budgets: list[int], seeds: list[int], initial: int, test_share: float,
        strategy_names: list[str], files: list[Path]) -> dict:
    from tagger.training.fit import train_tagger

    taxonomy = load_taxonomy()
    docs = [d for f in files for d in read_documents(f, labelled=True)]
    order = np.random.default_rng(12345).permutation(len(docs))
    n_test = int(len(docs) * test_share)
    test = [docs[i] for i in order[:n_test]]
    pool = [docs[i] for i in order[n_test:]]
    ids = taxonomy.ids

    def fit(labelled: list[Document], seed: int):
        tagger, _ = train_tagger(labelled, taxonomy, folds=0, seed=seed, n_jobs=1)
        return tagger

    rows = []
    for seed in seeds:
        start = [int(i) for i in np.random.default_rng(seed).permutation(len(pool))[:initial]]
        first = fit([pool[i] for i in start], seed)
        rows.append({"seed": seed, "strategy": "start", "labels": initial, **_f1(first, test)})
        print(json.dumps(rows[-1]), flush=True)
        for name in strategy_names:
            chosen, model = list(start), first
            for budget in budgets:
                rest = [i for i in range(len(pool)) if i not in set(chosen)]
                docs_rest = [pool[i] for i in rest]
                positives = np.array([[t in (pool[i].tags or ()) for t in ids]
                                      for i in chosen]).sum(axis=0)
                value, _ = informativeness(model, docs_rest,
                                           "uncertainty" if name in ("diverse", "random")
                                           else name, positives=positives)
                vectors = strategies.text_vectors([d.title for d in docs_rest],
                                                  [d.abstract for d in docs_rest])
                picked = strategies.select_batch(value, vectors, budget - len(chosen),
                                                 seed=seed * 1000 + budget, strategy=name)
                chosen += [rest[i] for i in picked]
                started = time.perf_counter()
                model = fit([pool[i] for i in chosen], seed)
                rows.append({"seed": seed, "strategy": name, "labels": len(chosen),
                             **_f1(model, test),
                             "fit_seconds": round(time.perf_counter() - started, 1)})
                print(json.dumps(rows[-1]), flush=True)
    return {"files": [f.name for f in files], "n_pool": len(pool), "n_test": len(test),
            "initial": initial, "budgets": budgets, "seeds": seeds, "rows": rows}


def summarise(result: dict) -> dict:
    """Mean over seeds per (strategy, labels)."""
    table: dict = {}
    for row in result["rows"]:
        if row["strategy"] == "start":
            continue
        cell = table.setdefault(row["strategy"], {}).setdefault(row["labels"], [])
        cell.append((row["micro_f1"], row["macro_f1"], row.get("core_f1") or 0.0))
    return {s: {n: tuple(round(float(np.mean([c[k] for c in cells])), 4) for k in (0, 1, 2))
                for n, cells in by_n.items()} for s, by_n in table.items()}


def markdown(result: dict) -> str:
    summary = summarise(result)
    budgets = result["budgets"]
    lines = ["| strategy | " + " | ".join(f"{n} labels micro / macro / core-five F1"
                                        for n in budgets)
             + " |", "|---|" + "---:|" * len(budgets)]
    for name, by_n in summary.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{by_n[n][0]:.3f} / {by_n[n][1]:.3f} / {by_n[n][2]:.3f}" for n in budgets) + " |")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(result)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    for k, label in enumerate(("micro-F1", "macro-F1")):
        for name, by_n in summary.items():
            xs = sorted(by_n)
            axes[k].plot(xs, [by_n[x][k] for x in xs], marker="o", label=name)
        axes[k].set_xscale("log", base=2)
        axes[k].set_xticks(result["budgets"], [str(b) for b in result["budgets"]])
        axes[k].set_xlabel("labels requested (incl. the random start)")
        axes[k].set_ylabel(f"held-out {label}")
        axes[k].grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"Active learning on {', '.join(result['files'])} "
                 f"(mean of {len(result['seeds'])} seeds, test n={result['n_test']})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.experiments.active_learning",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--initial", type=int, default=50)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--strategies", nargs="+", default=list(strategies.STRATEGIES))
    parser.add_argument("--data", type=Path, nargs="+",
                        default=[LABELS / "seed.jsonl", LABELS / "arxiv_train.jsonl"])
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--name", default="active_learning",
                        help="file name stem of the JSON and PNG written (default "
                        "active_learning)")
    args = parser.parse_args(argv)
    result = run(args.budgets, args.seeds, args.initial, args.test_share, args.strategies,
                 args.data)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, args.out_dir / f"{args.name}.png")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
