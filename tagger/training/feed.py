"""The arXiv feed as training material: read it, sample it, and turn arXiv categories into weak
theme labels (distant supervision).

The feed (``../shared/corpus/arxiv_feed.jsonl.gz``: ``id``, ``title``, ``abstract``,
``categories``, ``month``) has no theme labels; it is used only to learn representations, as
a pool for self-training and, through its categories, as weak labels. None of its papers is in
the labelled files (the corpus README says it was deduplicated against them).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tagger.corpus import Document
from tagger.text import lemmas

DEFAULT_FEED = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "arxiv_feed.jsonl.gz"


@dataclass(frozen=True, slots=True)
class FeedPaper:
    id: str
    title: str
    abstract: str
    categories: tuple[str, ...]
    month: str

    def lemmas(self) -> list[str]:
        """Title and abstract lemmas, lemmatised separately (as the model's features are)."""
        return lemmas(self.title) + lemmas(self.abstract)


def read_feed(path: Path = DEFAULT_FEED) -> Iterator[FeedPaper]:
    """Stream the feed file (gzipped or plain JSON Lines); records without an abstract are
    skipped (the feed has none, but a reader must not crash on one)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if not record.get("abstract"):
                continue
            categories = record.get("categories") or ()
            if isinstance(categories, str):
                categories = categories.split()
            yield FeedPaper(str(record.get("id", "")), record.get("title") or "",
                            record["abstract"], tuple(categories), str(record.get("month", "")))


def sample_feed(papers: Sequence[FeedPaper], n: int | None, seed: int = 0) -> list[FeedPaper]:
    """``n`` papers drawn uniformly without replacement (all of them if ``n`` is None or at
    least the feed size), in feed order: deterministic for a seed."""
    if n is None or n >= len(papers):
        return list(papers)
    chosen = sorted(random.Random(seed).sample(range(len(papers)), n))
    return [papers[i] for i in chosen]


# arXiv categories that name a theme of the taxonomy outright. Only these: a category that
# merely correlates with a theme (eess.SY with state space models, stat.ME with causal
# inference) would teach the model the category, not the theme.
CATEGORY_THEMES: dict[str, str] = {
    "cs.CV": "computer-vision",
    "eess.IV": "computer-vision",
    "cs.CL": "language-models-and-nlp",
    "cs.SD": "speech-and-audio",
    "eess.AS": "speech-and-audio",
}
# Natural-science categories give scientific-ml only together with an ML category: a physics
# paper without machine learning has no theme.
SCIENCE_PREFIXES = ("physics.", "q-bio.", "cond-mat.", "astro-ph", "quant-ph", "nlin.")
ML_CATEGORIES = frozenset({"cs.LG", "stat.ML", "cs.AI", "cs.NE"})


def category_themes(categories: Sequence[str]) -> set[str]:
    """Themes an arXiv paper's categories imply (possibly none)."""
    themes = {CATEGORY_THEMES[c] for c in categories if c in CATEGORY_THEMES}
    if any(c.startswith(SCIENCE_PREFIXES) for c in categories) and \
            ML_CATEGORIES.intersection(categories):
        themes.add("scientific-ml")
    return themes


def read_id_table(path: Path, field: str) -> Iterator[tuple[int, str, object]]:
    """``(line number, id, value of field)`` of each ``{"id", field}`` JSON object of a JSON
    Lines side table (blank lines skipped): labels or months kept apart from the papers'
    text. A line that is not such an object raises ValueError naming the file and line."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield number, str(record["id"]), record[field]
            except (ValueError, KeyError, TypeError):
                raise ValueError(f'{path}:{number}: expected {{"id", "{field}"}}') from None


def read_labels_by_id(path: Path) -> dict[str, tuple[str, ...]]:
    """Theme labels by paper id, one ``{"id", "tags"}`` JSON object per line: labels of feed
    papers (whose text stays in the feed: the papers' words are their authors') or an
    annotator's labels of gold papers. Refuses a bad line or a repeated id, naming the file
    and line."""
    labels: dict[str, tuple[str, ...]] = {}
    for number, paper_id, tags in read_id_table(path, "tags"):
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError(f"{path}:{number}: tags must be a list of theme ids")
        if paper_id in labels:
            raise ValueError(f"{path}:{number}: id {paper_id} is labelled twice")
        labels[paper_id] = tuple(tags)
    return labels


def labelled_feed_papers(labels: dict[str, tuple[str, ...]],
                         papers: Iterator[FeedPaper]) -> list[Document]:
    """The labelled papers with their feed text, in label order (a paper the feed holds
    twice is taken once). Every labelled id must be in the feed."""
    found: dict[str, Document] = {}
    for paper in papers:
        if paper.id in labels and paper.id not in found:
            found[paper.id] = Document(id=paper.id, title=paper.title, abstract=paper.abstract,
                                       tags=labels[paper.id], source="feed-labels",
                                       month=paper.month, categories=paper.categories)
    missing = [paper_id for paper_id in labels if paper_id not in found]
    if missing:
        raise ValueError(f"{len(missing)} labelled id(s) not in the feed, e.g. {missing[0]}")
    return [found[paper_id] for paper_id in labels]
