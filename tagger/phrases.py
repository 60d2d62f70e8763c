"""Find a taxonomy's indicator phrases in lemmatised text.

A small exact-match index over lemma n-grams: every phrase is normalised with
:func:`tagger.text.phrase_lemmas`, so ``"State-Space Models"`` in an abstract matches the phrase
``"state space model"``. Used by the model (phrase-count features) and by explanations.
"""

from __future__ import annotations

from collections.abc import Sequence


class PhraseIndex:
    """Maps lemma n-grams to the themes whose phrase lists contain them."""

    def __init__(self, phrases_by_theme: Sequence[Sequence[str]]):
        from tagger.text import phrase_lemmas

        self.n_themes = len(phrases_by_theme)
        self._themes_of: dict[tuple[str, ...], list[int]] = {}
        for theme_index, phrases in enumerate(phrases_by_theme):
            for phrase in phrases:
                key = phrase_lemmas(phrase)
                if key:
                    self._themes_of.setdefault(key, [])
                    if theme_index not in self._themes_of[key]:
                        self._themes_of[key].append(theme_index)
        # Phrase lengths by first lemma, longest first: most positions fail one dict lookup.
        lengths: dict[str, set[int]] = {}
        for key in self._themes_of:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths_by_first = {
            first: sorted(sizes, reverse=True) for first, sizes in lengths.items()
        }

    def table(self) -> dict[tuple[str, ...], list[int]]:
        """Every indexed phrase (a lemma tuple) with the themes it indicates."""
        return {key: list(themes) for key, themes in self._themes_of.items()}

    def matches(self, lemmas: Sequence[str]) -> list[tuple[int, int, list[int]]]:
        """All matches as ``(start_token, end_token, theme_indices)``, longest first at each
        position and non-overlapping (a longer phrase hides the shorter ones inside it)."""
        lengths_by_first = self._lengths_by_first
        # Only positions whose lemma starts some phrase can start a match; finding them is
        # one C-level scan, and most abstracts have few.
        starts = [i for i, lemma in enumerate(lemmas) if lemma in lengths_by_first]
        found = []
        free = 0  # the first position not inside an earlier match
        total = len(lemmas)
        themes_of = self._themes_of
        for position in starts:
            if position < free:
                continue
            for length in lengths_by_first[lemmas[position]]:
                if position + length <= total:
                    themes = themes_of.get(tuple(lemmas[position : position + length]))
                    if themes:
                        found.append((position, position + length, themes))
                        free = position + length
                        break
        return found

    def counts(self, lemmas: Sequence[str]) -> list[int]:
        """How many phrase matches each theme has in one text."""
        counts = [0] * self.n_themes
        for _start, _end, themes in self.matches(lemmas):
            for theme in themes:
                counts[theme] += 1
        return counts
