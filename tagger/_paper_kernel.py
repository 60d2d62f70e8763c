"""The numba kernel of :mod:`tagger.compiled` (imported only when a scorer is first used:
importing numba costs a few hundred milliseconds).

It follows the string path step by step (``ThemeFeatures.one_row`` and
``CalibratedMultiLabelLogistic.scores_from_row``); the comments name the step. Sums run in
float64, so scores agree with the string path's float32 sums to ~1e-6.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _content(codes, is_content):
    """Content-word codes in order (stop words, numbers, single letters dropped)."""
    kept = np.empty(len(codes), dtype=np.int64)
    n = 0
    for code in codes:
        if is_content[code]:
            kept[n] = code
            n += 1
    return kept[:n]


@njit(cache=True, nogil=True)
def _gram_keys(content, n_codes, out, start):
    """Unigram keys (the codes) and adjacent-pair keys of one field into ``out[start:]``."""
    n = start
    for i in range(len(content)):
        out[n] = content[i]
        n += 1
    for i in range(len(content) - 1):
        out[n] = n_codes * (1 + content[i]) + content[i + 1]
        n += 1
    return n


@njit(cache=True, nogil=True)
def _counted(keys):
    """Distinct keys (sorted) and how often each occurs."""
    ordered = np.sort(keys)
    distinct = np.empty(len(ordered), dtype=np.int64)
    counts = np.empty(len(ordered), dtype=np.int64)
    n = -1
    for key in ordered:
        if n >= 0 and distinct[n] == key:
            counts[n] += 1
        else:
            n += 1
            distinct[n] = key
            counts[n] = 1
    return distinct[:n + 1], counts[:n + 1]


@njit(cache=True, nogil=True)
def _column(table_keys, table_columns, key):
    """A key's column in a sorted key table (last key a sentinel), or -1."""
    position = np.searchsorted(table_keys, key)
    if table_keys[position] == key:
        return table_columns[position]
    return -1


@njit(cache=True, nogil=True)
def _add_tfidf(keys, counts, table_keys, table_columns, idf, weight, coef, logits):
    """``logits += weight * (L2-normalised sublinear TF-IDF row) @ coef`` (the word block)."""
    columns = np.empty(len(keys), dtype=np.int64)
    values = np.empty(len(keys), dtype=np.float64)
    n = 0
    norm = 0.0
    for i in range(len(keys)):
        column = _column(table_keys, table_columns, keys[i])
        if column >= 0:
            value = (math.log(counts[i]) + 1.0) * idf[column]
            columns[n] = column
            values[n] = value
            norm += value * value
            n += 1
    norm = math.sqrt(norm) if norm > 0 else 1.0
    for i in range(n):
        scale = np.float32(values[i] / norm) * weight
        row = coef[columns[i]]
        for k in range(len(logits)):
            logits[k] += scale * row[k]


@njit(cache=True, nogil=True)
def _phrase_counts(codes, rows, lengths, starts, theme_starts, themes, counts):
    """``PhraseIndex.counts``: greedy, longest phrase first at each position, no overlaps."""
    total = len(codes)
    free = 0
    for position in range(total):
        if position < free:
            continue
        first = codes[position]
        for r in range(starts[first], starts[first + 1]):
            length = lengths[r]
            if position + length > total:
                continue
            matched = True
            for j in range(1, length):
                if codes[position + j] != rows[r, j]:
                    matched = False
                    break
            if matched:
                for t in range(theme_starts[r], theme_starts[r + 1]):
                    counts[themes[t]] += 1.0
                free = position + length
                break


@njit(cache=True, nogil=True)
def _add_dense(vector, scale, coef, offset, logits):
    """``logits += scale * vector @ coef[offset:offset + len(vector)]``, the vector first
    rounded to float32 as the string path's dense block is."""
    for i in range(len(vector)):
        value = np.float32(vector[i] * scale)
        if value != 0.0:
            row = coef[offset + i]
            for k in range(len(logits)):
                logits[k] += value * row[k]


@njit(cache=True, nogil=True)
def _length(vector):
    total = 0.0
    for value in vector:
        total += float(value) * float(value)
    return math.sqrt(total)


@njit(cache=True, nogil=True)
def _projected(keys, counts, columns_of, idf, projection, table_keys, table_columns):
    """Normalised sublinear TF-IDF of the counted keys, times the projection's rows; with
    ``columns_of`` (an array by code) unigram keys are looked up there, otherwise in the
    sorted table. Returns the projected vector and whether any term was found."""
    dim = projection.shape[1]
    columns = np.empty(len(keys), dtype=np.int64)
    values = np.empty(len(keys), dtype=np.float64)
    n = 0
    norm = 0.0
    for i in range(len(keys)):
        if len(columns_of):
            column = columns_of[keys[i]] if keys[i] < len(columns_of) else -1
        else:
            column = _column(table_keys, table_columns, keys[i])
        if column >= 0:
            value = (math.log(counts[i]) + 1.0) * idf[column]
            columns[n] = column
            values[n] = value
            norm += value * value
            n += 1
    projected = np.zeros(dim, dtype=np.float32)  # float32 like the string path's product
    norm = math.sqrt(norm) if norm > 0 else 1.0
    for i in range(n):
        value = np.float32(values[i] / norm)
        row = projection[columns[i]]
        for k in range(dim):
            projected[k] += value * row[k]
    return projected, n > 0


@njit(cache=True, nogil=True)
def paper_logits(title, abstract, words, phrases, lsa, representation, classifier):
    """Raw logits of one paper given the lemma codes of its title and abstract."""
    is_content, word_keys, word_columns, word_idf, title_weight, n_codes = words
    coef, intercept = classifier
    logits = intercept.copy()
    title_content = _content(title, is_content)
    abstract_content = _content(abstract, is_content)
    # word block: the paper's n-grams (never across the title/abstract boundary) ...
    keys = np.empty(2 * (len(title_content) + len(abstract_content)), dtype=np.int64)
    n_title = _gram_keys(title_content, n_codes, keys, 0)
    n_keys = _gram_keys(abstract_content, n_codes, keys, n_title)
    paper_keys, paper_counts = _counted(keys[:n_keys])
    _add_tfidf(paper_keys, paper_counts, word_keys, word_columns, word_idf, 1.0, coef, logits)
    # ... plus the title's own row
    if title_weight != 0.0 and len(title_content):
        title_keys, title_counts = _counted(keys[:n_title])
        _add_tfidf(title_keys, title_counts, word_keys, word_columns, word_idf, title_weight,
                   coef, logits)
    offset = coef.shape[0] - _dense_width(phrases, lsa, representation)
    # taxonomy phrases: the paper's counts, then the title's
    rows, lengths, starts, theme_starts, themes, n_themes, phrase_weight, title_phrases = phrases
    if n_themes:
        title_counts = np.zeros(n_themes, dtype=np.float64)
        _phrase_counts(title, rows, lengths, starts, theme_starts, themes, title_counts)
        paper = title_counts.copy()
        _phrase_counts(abstract, rows, lengths, starts, theme_starts, themes, paper)
        _add_dense(np.log1p(paper), phrase_weight, coef, offset, logits)
        offset += n_themes
        if title_phrases:
            _add_dense(np.log1p(title_counts), phrase_weight, coef, offset, logits)
            offset += n_themes
    # LSA: unigrams of the LSA vocabulary, projected, scaled to length lsa_weight
    lsa_columns, lsa_idf, lsa_projection, lsa_weight = lsa
    if lsa_projection.shape[1]:
        projected, _ = _projected(paper_keys, paper_counts, lsa_columns, lsa_idf,
                                  lsa_projection, word_keys, word_columns)
        length = _length(projected.astype(np.float32))
        _add_dense(projected.astype(np.float32), lsa_weight / length if length else 0.0,
                   coef, offset, logits)
        offset += lsa_projection.shape[1]
    # feed representation: title and abstract as one word list
    mode, rep_keys, rep_columns, rep_idf, rep_projection, rep_intercept, joined, weight = \
        representation
    if mode:
        if joined:
            both = np.empty(2 * (len(title_content) + len(abstract_content)), dtype=np.int64)
            content = np.concatenate((title_content, abstract_content))
            keys_both, counts_both = _counted(both[:_gram_keys(content, n_codes, both, 0)])
        else:
            keys_both, counts_both = paper_keys, paper_counts  # no pairs: same unigrams
        projected, _ = _projected(keys_both, counts_both, np.zeros(0, dtype=np.int64),
                                  rep_idf, rep_projection, rep_keys, rep_columns)
        vector = projected.astype(np.float32) + rep_intercept
        if mode == 2:  # probabilities keep their scale
            vector = (1.0 / (1.0 + np.exp(-vector))).astype(np.float32)
            _add_dense(vector, weight, coef, offset, logits)
        else:  # a direction: unit length times the weight
            length = _length(vector)
            _add_dense(vector, weight / length if length else 0.0, coef, offset, logits)
    return logits


@njit(cache=True, nogil=True)
def _dense_width(phrases, lsa, representation):
    """Columns after the word block: phrase blocks, LSA, representation."""
    width = phrases[5] * (2 if phrases[7] else 1) if phrases[5] else 0
    width += lsa[2].shape[1]
    if representation[0]:
        width += representation[4].shape[1]
    return width


# -- words to codes (ASCII text) ---------------------------------------------------------------
# ``tagger.text.words`` on ASCII text: maximal runs of letters and digits, lowercased. Here each
# run is hashed (64-bit FNV-1a of its lowercase bytes) while it is read, and the hash is looked
# up in an open-addressing table of the words whose code is not the default one, so no Python
# string is ever made for a word.

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, nogil=True, inline="always")
def _word_byte(byte):
    """The lowercase byte of an ASCII letter or digit, or 0 for any other byte."""
    if 97 <= byte <= 122 or 48 <= byte <= 57:
        return byte
    if 65 <= byte <= 90:
        return byte + 32
    return 0


@njit(cache=True, nogil=True)
def word_hashes(data):
    """The hash of every word of an ASCII byte array, and whether it is all digits and its
    length (for the default code of a word the table does not hold)."""
    hashes = np.empty(len(data) // 2 + 1, dtype=np.uint64)
    kinds = np.empty(len(data) // 2 + 1, dtype=np.int64)  # 1: one letter or all digits
    n = 0
    i = 0
    size = len(data)
    while i < size:
        byte = _word_byte(data[i])
        if byte == 0:
            i += 1
            continue
        start = i
        digits = True
        value = _FNV_OFFSET
        while i < size:
            byte = _word_byte(data[i])
            if byte == 0:
                break
            value = (value ^ np.uint64(byte)) * _FNV_PRIME
            digits = digits and 48 <= byte <= 57
            i += 1
        hashes[n] = value
        kinds[n] = 1 if digits or i - start == 1 else 0
        n += 1
    return hashes[:n], kinds[:n]


@njit(cache=True, nogil=True)
def hash_table(hashes, codes, capacity):
    """Open addressing (linear probing) of ``hashes -> codes``; ``capacity`` a power of two
    larger than the number of keys, 0 the empty slot (no word hashes to 0 in practice: a
    word that did would simply take the default code)."""
    keys = np.zeros(capacity, dtype=np.uint64)
    values = np.full(capacity, -1, dtype=np.int64)
    mask = np.uint64(capacity - 1)
    for i in range(len(hashes)):
        slot = hashes[i] & mask
        while keys[slot] != 0 and keys[slot] != hashes[i]:
            slot = (slot + np.uint64(1)) & mask
        keys[slot] = hashes[i]
        values[slot] = codes[i]
    return keys, values


@njit(cache=True, nogil=True)
def ascii_codes(data, keys, values, unknown_content, unknown_other):
    """Lemma codes of the words of an ASCII byte array: the table's code, else the default
    (a word outside the table is its own lemma and no vocabulary has it: unknown content,
    unless it is one letter or all digits)."""
    hashes, kinds = word_hashes(data)
    mask = np.uint64(len(keys) - 1)
    out = np.empty(len(hashes), dtype=np.int64)
    for i in range(len(hashes)):
        value = hashes[i]
        slot = value & mask
        code = -1
        while keys[slot] != 0:
            if keys[slot] == value:
                code = values[slot]
                break
            slot = (slot + np.uint64(1)) & mask
        if code < 0:
            code = unknown_other if kinds[i] else unknown_content
        out[i] = code
    return out


@njit(cache=True, nogil=True)
def ascii_paper_logits(title, abstract, ascii_table, unknown, words, phrases, lsa,
                       representation, classifier):
    """:func:`paper_logits` of a paper whose title and abstract are ASCII byte arrays: one
    call from Python for the whole paper."""
    keys, values = ascii_table
    unknown_content, unknown_other = unknown
    return paper_logits(ascii_codes(title, keys, values, unknown_content, unknown_other),
                        ascii_codes(abstract, keys, values, unknown_content, unknown_other),
                        words, phrases, lsa, representation, classifier)
