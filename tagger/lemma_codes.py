"""One paper's features over integer lemma codes: the single-abstract scoring path.

Why: the API tags one abstract per request, and there the string path (lemma dict, content
filter, a Counter of word and word-pair tuples, then one dict probe per n-gram in each of three
vocabularies) spends most of its time in interpreter loops and in probing large dicts whose
entries a busy server rarely finds in the CPU cache (issue 11, ``benchmarks/request_path.py``).
Here every lemma any fitted vocabulary knows gets a small integer code once per loaded model;
a paper becomes two integer arrays (title, abstract) by ONE dict probe per word in a memo from
surface word to code, and everything after that is a fixed number of NumPy calls whatever the
abstract's length: content-word mask, n-gram keys (a word pair is one int64), one ``np.unique``
to count them, and ``searchsorted``/``take`` into sorted key arrays per vocabulary.

The features are exactly :meth:`tagger.features.ThemeFeatures.transform_lemmatised`'s row
(tested on real and generated text): codes only replace strings where equality is all that
matters. Unknown words keep a place in the sequence (so they still separate word pairs, as in
the string path) under one of two codes that no vocabulary contains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tagger.text import _lemma_table, words

if TYPE_CHECKING:
    from tagger.features import ThemeFeatures


class _SurfaceCodes(dict):
    """Lowercase surface word -> lemma code, filled on first sight (lemma table, then the
    lemma's code). Bounded like the content-word memo, so a client sending random strings
    cannot grow it without limit: past the bound, unseen words are coded but not kept."""

    LIMIT = 500_000

    def __init__(self, codes: dict[str, int], unknown_content: int, unknown_other: int):
        super().__init__()
        self._codes = codes
        self._unknown_content = unknown_content
        self._unknown_other = unknown_other
        self._lemma_of = _lemma_table()

    def code_of(self, word: str) -> int:
        """The code of one lowercase word, without remembering it."""
        from tagger.features import is_content_word

        lemma = self._lemma_of.get(word, word)
        code = self._codes.get(lemma)
        if code is None:
            code = self._unknown_content if is_content_word(lemma) else self._unknown_other
        return code

    def __missing__(self, word: str) -> int:
        code = self.code_of(word)
        if len(self) < self.LIMIT:
            self[word] = code
        return code


class _GramTable:
    """A vocabulary of n-gram keys (see :meth:`LemmaCodes.gram_keys`) -> column, as sorted
    arrays: looking up all of a paper's distinct n-grams is one ``searchsorted``."""

    def __init__(self, columns_by_key: dict[int, int]):
        keys = np.fromiter(columns_by_key.keys(), dtype=np.int64, count=len(columns_by_key))
        columns = np.fromiter(columns_by_key.values(), dtype=np.int64,
                              count=len(columns_by_key))
        order = np.argsort(keys)
        # A sentinel past every real key, so ``searchsorted`` never points outside the array.
        self.keys = np.append(keys[order], np.iinfo(np.int64).max)
        self.columns = np.append(columns[order], -1)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(which, columns)``: the positions of ``keys`` found in the table, their columns."""
        positions = np.searchsorted(self.keys, keys)
        which = np.flatnonzero(self.keys.take(positions) == keys)
        return which, self.columns.take(positions.take(which))


class LemmaCodes:
    """A fitted :class:`ThemeFeatures` compiled to integer tables for one paper at a time.

    Build it with :meth:`compile` (None when a block has no integer form, e.g. a custom
    representation object: the caller then uses the batch path)."""

    def __init__(self, features: ThemeFeatures):
        from tagger.features import is_content_word

        self.features = features
        word_lookup, lsa_lookup = features.word_lookup_, features.lsa_lookup_
        representation = features.representation
        phrase_index = features.phrase_index_
        lemmas = set(word_lookup.unigrams)
        for first, following in word_lookup.bigrams.items():
            lemmas.add(first)
            lemmas.update(following)
        if lsa_lookup is not None:
            lemmas.update(lsa_lookup.unigrams)
        if representation is not None:
            lemmas.update(representation._lookup.unigrams)
            for first, following in representation._lookup.phrases.items():
                lemmas.add(first)
                lemmas.update(following)
        if phrase_index is not None:
            for phrase in phrase_index.table():
                lemmas.update(phrase)
        self.lemmas = sorted(lemmas)
        self.codes = {lemma: code for code, lemma in enumerate(self.lemmas)}
        known = len(self.lemmas)
        self.unknown_content, self.unknown_other = known, known + 1
        self.n_codes = known + 2
        self.is_content = np.array([is_content_word(x) for x in self.lemmas] + [True, False])
        self.surface = _SurfaceCodes(self.codes, self.unknown_content, self.unknown_other)

        code = self.codes.__getitem__
        self.word_table = _GramTable(
            {code(w): j for w, j in word_lookup.unigrams.items()}
            | {self.pair_key(code(a), code(b)): j for (a, b), j in word_lookup.pairs.items()})
        self.word_idf = features.word_idf_
        self.lsa_columns = None
        if features.lsa_projection_ is not None:
            # Unigram keys are the codes themselves: a direct array beats a search here.
            self.lsa_columns = np.full(self.n_codes, -1, dtype=np.int64)
            for w, j in lsa_lookup.unigrams.items():
                self.lsa_columns[code(w)] = j
        self.representation_table = None
        if representation is not None:
            lookup = representation._lookup
            self.representation_table = _GramTable(
                {code(w): j for w, j in lookup.unigrams.items()}
                | {self.pair_key(code(a), code(b)): j
                   for a, following in lookup.phrases.items() for b, j in following.items()})
        self.phrase_index = (phrase_index.recoded(self.codes) if phrase_index is not None
                             else None)

    @classmethod
    def compile(cls, features: ThemeFeatures) -> LemmaCodes | None:
        """The integer form of ``features``, or None when its representation is not a
        :class:`tagger.representations.FeedRepresentation` (the only kind coded here)."""
        from tagger.representations import FeedRepresentation

        representation = features.representation
        if representation is not None and not isinstance(representation, FeedRepresentation):
            return None
        return cls(features)

    # -- keys ------------------------------------------------------------------------------

    def pair_key(self, first: int, second: int) -> int:
        """The n-gram key of a word pair: above every unigram key (the codes themselves)."""
        return self.n_codes * (1 + first) + second

    def encode(self, text: str) -> np.ndarray:
        """The lemma codes of a text's words, in order (unknown words included)."""
        found = words(text)
        return np.fromiter(map(self.surface.__getitem__, found), dtype=np.int64,
                           count=len(found))

    def gram_keys(self, content: np.ndarray) -> np.ndarray:
        """Unigram and adjacent-pair keys of a content-word code sequence."""
        pairs = self.n_codes * (1 + content[:-1]) + content[1:]
        return np.concatenate([content, pairs])

    # -- the row ---------------------------------------------------------------------------

    def row(self, title: str, abstract: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One paper's features as ``(columns, values, dense)``: the word block's entries
        (a column may occur twice, the title's row adding to the paper's; a dot product
        sums them) and every dense block side by side (columns ``n_word_features_`` on),
        as :meth:`CalibratedMultiLabelLogistic.scores_from_row` takes them."""
        features = self.features
        title_codes, abstract_codes = self.encode(title), self.encode(abstract)
        is_content = self.is_content
        title_content = title_codes[is_content.take(title_codes)]
        abstract_content = abstract_codes[is_content.take(abstract_codes)]
        # n-grams never cross the title/abstract boundary: each field's keys apart
        title_keys = self.gram_keys(title_content)
        keys, counts = np.unique(np.concatenate([title_keys, self.gram_keys(abstract_content)]),
                                 return_counts=True)
        log_tf = np.log(counts) + 1.0
        columns, values = self._tfidf(keys, log_tf)
        if features.title_weight and len(title_content):
            own_keys, own_counts = np.unique(title_keys, return_counts=True)
            own_columns, own_values = self._tfidf(own_keys, np.log(own_counts) + 1.0)
            columns = np.concatenate([columns, own_columns])
            values = np.concatenate([values, own_values * features.title_weight])
        blocks = self._phrase_blocks(title_codes, abstract_codes)
        if self.lsa_columns is not None:
            blocks.append(self._lsa_vector(keys, log_tf))
        if self.representation_table is not None:
            blocks.append(self._representation_vector(title_content, abstract_content))
        dense = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
        return columns, values, dense

    def _tfidf(self, keys: np.ndarray, log_tf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Word-block columns and L2-normalised TF-IDF values of counted n-gram keys (those
        outside the vocabulary weigh nothing, so they are simply left out)."""
        which, columns = self.word_table.find(keys)
        values = log_tf.take(which) * self.word_idf.take(columns)
        norm = float(np.sqrt(values @ values)) or 1.0
        return columns, values / norm

    def _phrase_blocks(self, title_codes: np.ndarray,
                       abstract_codes: np.ndarray) -> list[np.ndarray]:
        index = self.phrase_index
        if index is None:
            return []
        title = np.array(index.counts(title_codes.tolist()), dtype=np.float32)
        paper = title + np.array(index.counts(abstract_codes.tolist()), dtype=np.float32)
        weight = np.float32(self.features.phrase_weight)
        blocks = [np.log1p(paper) * weight]
        if self.features.title_phrases:
            blocks.append(np.log1p(title) * weight)
        return blocks

    def _lsa_vector(self, keys: np.ndarray, log_tf: np.ndarray) -> np.ndarray:
        from tagger.features import scaled_to_length

        features = self.features
        unigrams = np.flatnonzero(keys < self.n_codes)  # the LSA vocabulary has no pairs
        columns = self.lsa_columns.take(keys.take(unigrams))
        used = np.flatnonzero(columns >= 0)
        columns = columns.take(used)
        values = log_tf.take(unigrams.take(used)) * features.lsa_idf_.take(columns)
        norm = float(np.sqrt(values @ values)) or 1.0
        projected = (values / norm).astype(np.float32) @ features.lsa_projection_.take(
            columns, axis=0)
        return scaled_to_length(projected, features.lsa_weight)

    def _representation_vector(self, title_content: np.ndarray,
                               abstract_content: np.ndarray) -> np.ndarray:
        """The feed representation reads title and abstract as one word list (a collocation
        may span the boundary there), so its n-grams are counted on the joined sequence."""
        from tagger.features import scaled_representation

        representation = self.features.representation
        keys, counts = np.unique(self.gram_keys(np.concatenate([title_content,
                                                                abstract_content])),
                                 return_counts=True)
        which, terms = self.representation_table.find(keys)
        vector = representation.from_term_counts(terms, counts.take(which))
        return scaled_representation(representation, vector,
                                     self.features.representation_weight)

