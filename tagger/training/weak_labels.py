"""Weak supervision: silver theme labels from the taxonomy's phrase rules.

The rules are the ``phrases`` of each theme in the taxonomy, matched by the same
:class:`~tagger.phrases.PhraseIndex` the model's phrase features use (lemma normal form,
hyphens split, longest match first, no overlaps), so a silver label and a phrase feature can
never disagree about what a text says: "non-autoregressive translation" is one
non-autoregressive phrase for both, not also an autoregressive one. Character offsets come from
:func:`tagger.text.tokenize`, per field, so each silver label carries its provenance.

A theme is assigned when its phrases occur at least ``min_matches`` times in the paper, or at
least once in the title (a title names what the paper is centrally about). Passing mentions
in an abstract usually match once, so the rule favours precision over recall.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from tagger.corpus import Document
from tagger.phrases import PhraseIndex
from tagger.taxonomy import Taxonomy
from tagger.text import tokenize


@dataclass(frozen=True)
class Match:
    """One phrase occurrence: the theme it indicates, the taxonomy phrase (lemma form), the
    matched surface text and its character offsets in ``field`` ("title" or "abstract")."""

    theme: str
    phrase: str
    text: str
    start: int
    end: int
    field: str = "abstract"


class PhraseRules:
    """The taxonomy's phrase rules over the model's own phrase index."""

    def __init__(self, taxonomy: Taxonomy, themes: Sequence[str] | None = None,
                 min_matches: int = 2):
        if min_matches < 1:
            raise ValueError("min_matches must be at least 1")
        self.taxonomy = taxonomy
        self.themes = list(themes) if themes else list(taxonomy.ids)
        unknown = [t for t in self.themes if t not in taxonomy.ids]
        if unknown:
            raise ValueError(f"theme(s) not in taxonomy: {', '.join(unknown)}")
        self.min_matches = min_matches
        self.index = PhraseIndex([t.phrases for t in taxonomy.themes])

    def matches(self, text: str, field: str = "abstract") -> list[Match]:
        """Phrase occurrences in ``text`` for the selected themes, in text order."""
        tokens = tokenize(text)
        words = [token.lemma for token in tokens]
        found = []
        for start, end, theme_indices in self.index.matches(words):
            first, last = tokens[start], tokens[end - 1]
            for k in theme_indices:
                theme = self.taxonomy.themes[k].id
                if theme in self.themes:
                    found.append(Match(theme, " ".join(words[start:end]),
                                       text[first.start:last.end], first.start, last.end, field))
        return found

    def label(self, document: Document) -> dict:
        """The silver record of one document: id, title, abstract, tags and provenance
        (``{"theme": [{"field", "phrase", "text", "start", "end"}]}``)."""
        by_theme: dict[str, list[Match]] = {}
        for match in (self.matches(document.title, "title")
                      + self.matches(document.abstract, "abstract")):
            by_theme.setdefault(match.theme, []).append(match)
        tags = [
            theme for theme in self.taxonomy.ids
            if theme in by_theme and (len(by_theme[theme]) >= self.min_matches
                                      or any(m.field == "title" for m in by_theme[theme]))
        ]
        return {
            "id": document.id,
            "title": document.title,
            "abstract": document.abstract,
            "tags": tags,
            "provenance": {
                theme: [{"field": m.field, "phrase": m.phrase, "text": m.text,
                         "start": m.start, "end": m.end} for m in by_theme[theme]]
                for theme in tags
            },
        }

    def label_all(self, documents: Iterable[Document]) -> Iterator[dict]:
        for document in documents:
            yield self.label(document)
