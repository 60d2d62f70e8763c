"""Weak supervision: silver theme labels from the taxonomy's phrase rules.

The rules are the ``phrases`` of each theme in the taxonomy, matched with spaCy's
``PhraseMatcher(attr="LEMMA")``. The matcher runs on Docs built from *our* tokens and lemmas
(:func:`tagger.text.tokenize`), not on spaCy's own tokenizer: the silver labels then see
exactly the lemma normal form the model's features see (hyphens split, same lookup table),
and tokenising is ~8x faster than ``spacy.blank("en")`` with a lookup lemmatizer, which
matters for a corpus of thousands of abstracts. Character offsets of every match come from
our tokens, so each silver label carries its provenance: which phrases matched, and where.

A theme is assigned when its phrases occur at least ``min_matches`` times in the text, or at
least once in the title (a title names what the paper is centrally about). Passing mentions
in an abstract usually match once, so the rule favours precision over recall.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from tagger.corpus import Document
from tagger.features import split_title
from tagger.taxonomy import Taxonomy
from tagger.text import phrase_lemmas, tokenize


@dataclass(frozen=True)
class Match:
    """One phrase occurrence: the theme it indicates, the taxonomy phrase (lemma form), the
    matched surface text and its character offsets in ``Document.text``."""

    theme: str
    phrase: str
    text: str
    start: int
    end: int


class PhraseRules:
    """The taxonomy's phrase rules compiled into one spaCy ``PhraseMatcher`` on lemmas."""

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
        self.vocab = Vocab()
        self.matcher = PhraseMatcher(self.vocab, attr="LEMMA")
        for theme in taxonomy.themes:
            if theme.id not in self.themes:
                continue
            patterns = []
            for phrase in theme.phrases:
                words = list(phrase_lemmas(phrase))
                if words:
                    patterns.append(Doc(self.vocab, words=words, lemmas=words))
            self.matcher.add(theme.id, patterns)

    def matches(self, text: str) -> list[Match]:
        """Phrase occurrences in ``text``. Within one theme, overlapping matches collapse to
        the longest (``"state space models"`` is one match, not also ``"state space"``), as in
        the model's :class:`~tagger.phrases.PhraseIndex`; different themes keep theirs."""
        tokens = tokenize(text)
        if not tokens:
            return []
        words = [token.lemma for token in tokens]
        doc = Doc(self.vocab, words=words, lemmas=words)
        spans = sorted(((self.vocab.strings[match_id], start, end)
                        for match_id, start, end in self.matcher(doc)),
                       key=lambda span: (span[0], span[1], -span[2]))
        found = []
        covered_until: dict[str, int] = {}
        for theme, start, end in spans:
            if start < covered_until.get(theme, 0):
                continue  # inside (or overlapping) a longer match of the same theme
            covered_until[theme] = end
            first, last = tokens[start], tokens[end - 1]
            found.append(Match(theme, " ".join(words[start:end]), text[first.start:last.end],
                               first.start, last.end))
        return sorted(found, key=lambda m: (m.start, -m.end, m.theme))

    def label(self, document: Document) -> dict:
        """The silver record of one document: id, title, abstract, tags and provenance
        (``{"theme": [{"phrase", "text", "start", "end"}]}`` over ``Document.text``)."""
        text = document.text
        title_end = len(split_title(text)) if document.title else 0
        by_theme: dict[str, list[Match]] = {}
        for match in self.matches(text):
            by_theme.setdefault(match.theme, []).append(match)
        tags = [
            theme for theme in self.taxonomy.ids
            if theme in by_theme and (len(by_theme[theme]) >= self.min_matches
                                      or any(m.end <= title_end for m in by_theme[theme]))
        ]
        return {
            "id": document.id,
            "title": document.title,
            "abstract": document.abstract,
            "tags": tags,
            "provenance": {
                theme: [{"phrase": m.phrase, "text": m.text, "start": m.start, "end": m.end}
                        for m in by_theme[theme]]
                for theme in tags
            },
        }

    def label_all(self, documents: Iterable[Document]) -> Iterator[dict]:
        for document in documents:
            yield self.label(document)
