"""Output formats: JSON Lines (the documented record) and CSV (id, tags, scores).

Formatting happens in the workers so that the parent only writes ready text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

FORMATS = ("jsonl", "csv")


@dataclass(frozen=True)
class Formatter:
    """Turns :meth:`Tagger.tag` results into output text. ``theme_ids`` names the per-theme
    columns of ``--format csv --all-scores``."""

    fmt: str = "jsonl"
    theme_ids: tuple[str, ...] = ()
    all_scores: bool = False

    def header(self) -> str:
        if self.fmt != "csv":
            return ""
        columns = ["id", "tags", "scores"]
        if self.all_scores:
            columns += [f"score:{theme}" for theme in self.theme_ids]
        return _csv_line(columns)

    def format(self, results: Sequence[dict]) -> str:
        if self.fmt == "jsonl":
            return "".join(json.dumps(result, ensure_ascii=False) + "\n" for result in results)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for result in results:
            row = [
                result["id"],
                ";".join(tag["theme"] for tag in result["tags"]),
                ";".join(f"{tag['score']:g}" for tag in result["tags"]),
            ]
            if self.all_scores:
                row += [f"{result['scores'][theme]:g}" for theme in self.theme_ids]
            writer.writerow(row)
        return buffer.getvalue()


def _csv_line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


@dataclass(frozen=True)
class ScoreRows:
    """Not text: each result as its ``(theme, score)`` pairs at or above ``floor``, for the
    paper stream's compact tag rows (``tagger ingest``, ``tagger retag``). Needs the
    ``all_scores`` results; runs in the workers, so the parent only stores."""

    floor: float

    def header(self) -> str:
        return ""

    def format(self, results: Sequence[dict]) -> list[tuple[tuple[str, float], ...]]:
        floor = self.floor
        return [tuple((theme, score) for theme, score in result["scores"].items()
                      if score >= floor) for result in results]
