"""The numba kernel of :mod:`tagger.compiled` (imported only when a scorer is first built:
importing numba costs a few hundred milliseconds).

It follows the string path step by step (``ThemeFeatures.one_row`` and
``CalibratedMultiLabelLogistic.scores_from_row``); the comments name the step. The tables are
those of :class:`tagger.lemma_codes.LemmaCodes`: ``info`` has one row per lemma code, its
columns named there (repeated below: numba needs them as constants).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CONTENT, WORD, LSA, TERM, WORD_PAIRS, TERM_PAIRS, PHRASES = 0, 1, 2, 3, 4, 6, 8
# How the feed-representation block enters the features (first item of its tuple).
NO_REPRESENTATION, DIRECTION, PROBABILITY = 0, 1, 2


@njit(cache=True, nogil=True)
def _content(codes, info):
    """Content-word codes in order (stop words, numbers, single letters dropped)."""
    kept = np.empty(len(codes), dtype=np.int64)
    n = 0
    for code in codes:
        if info[code, CONTENT]:
            kept[n] = code
            n += 1
    return kept[:n]


@njit(cache=True, nogil=True)
def _counted(keys):
    """Distinct values (sorted) and how often each occurs."""
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
def _pair(info, run, seconds, columns, first, second):
    """The column of the pair (first, second) from first's run of sorted seconds, or -1."""
    lo, hi = info[first, run], info[first, run + 1]
    while lo < hi:  # binary search in a short run
        middle = (lo + hi) // 2
        if seconds[middle] < second:
            lo = middle + 1
        else:
            hi = middle
    if lo < info[first, run + 1] and seconds[lo] == second:
        return columns[lo]
    return -1


@njit(cache=True, nogil=True)
def _pair_columns(content, info, run, seconds, columns, out, n):
    """Append to ``out[n:]`` the columns of the content sequence's adjacent pairs found in
    the vocabulary; returns the new length."""
    for i in range(len(content) - 1):
        column = _pair(info, run, seconds, columns, content[i], content[i + 1])
        if column >= 0:
            out[n] = column
            n += 1
    return n


@njit(cache=True, nogil=True)
def _add_word_row(content_fields, info, seconds, columns, idf, weight, coef, logits):
    """``logits += weight * (L2-normalised sublinear TF-IDF of the fields' unigrams and
    in-field pairs) @ coef``: the word block."""
    total = 0
    for content in content_fields:
        total += len(content)
    codes = np.empty(total, dtype=np.int64)
    pairs = np.empty(total, dtype=np.int64)
    n_codes = n_pairs = 0
    for content in content_fields:
        codes[n_codes:n_codes + len(content)] = content
        n_codes += len(content)
        n_pairs = _pair_columns(content, info, WORD_PAIRS, seconds, columns, pairs, n_pairs)
    distinct, counts = _counted(codes)
    pair_columns, pair_counts = _counted(pairs[:n_pairs])
    found = np.empty(len(distinct) + len(pair_columns), dtype=np.int64)
    values = np.empty(len(found), dtype=np.float64)
    n = 0
    norm = 0.0
    for i in range(len(distinct)):
        column = info[distinct[i], WORD]
        if column >= 0:
            found[n] = column
            values[n] = (math.log(counts[i]) + 1.0) * idf[column]
            norm += values[n] * values[n]
            n += 1
    for i in range(len(pair_columns)):
        found[n] = pair_columns[i]
        values[n] = (math.log(pair_counts[i]) + 1.0) * idf[pair_columns[i]]
        norm += values[n] * values[n]
        n += 1
    norm = math.sqrt(norm) if norm > 0 else 1.0
    for i in range(n):
        scale = np.float32(values[i] / norm) * weight
        row = coef[found[i]]
        for k in range(len(logits)):
            logits[k] += scale * row[k]
    return distinct, counts


@njit(cache=True, nogil=True)
def _phrase_counts(codes, info, rows, lengths, theme_starts, themes, counts):
    """``PhraseIndex.counts``: greedy, longest phrase first at each position, no overlaps."""
    total = len(codes)
    free = 0
    for position in range(total):
        if position < free:
            continue
        first = codes[position]
        for r in range(info[first, PHRASES], info[first, PHRASES + 1]):
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
    scaled = np.empty(len(vector), dtype=np.float32)
    for i in range(len(vector)):
        scaled[i] = vector[i] * scale
    product = np.dot(scaled, coef[offset:offset + len(vector)])  # float32, BLAS
    for k in range(len(logits)):
        logits[k] += product[k]


@njit(cache=True, nogil=True)
def _length(vector):
    total = 0.0
    for value in vector:
        total += float(value) * float(value)
    return math.sqrt(total)


@njit(cache=True, nogil=True)
def _projected(columns, counts, idf, projection):
    """Normalised sublinear TF-IDF of counted terms (``columns[i]`` seen ``counts[i]``
    times; -1: not in this vocabulary) times the projection's rows, in float32."""
    values = np.zeros(len(columns), dtype=np.float64)
    norm = 0.0
    for i in range(len(columns)):
        if columns[i] >= 0:
            values[i] = (math.log(counts[i]) + 1.0) * idf[columns[i]]
            norm += values[i] * values[i]
    projected = np.zeros(projection.shape[1], dtype=np.float32)
    norm = math.sqrt(norm) if norm > 0 else 1.0
    for i in range(len(columns)):
        if columns[i] >= 0:
            value = np.float32(values[i] / norm)
            row = projection[columns[i]]
            for k in range(len(projected)):
                projected[k] += value * row[k]
    return projected


@njit(cache=True, nogil=True)
def _term_counts(distinct, counts, joined, info, seconds, terms):
    """Feed-representation terms of the paper as ``(terms, counts)``: its unigram terms
    (from the distinct codes) and the collocations of title and abstract read as ONE word
    list (a collocation may span the boundary there, unlike word pairs)."""
    pairs = np.empty(max(len(joined), 1), dtype=np.int64)
    n_pairs = _pair_columns(joined, info, TERM_PAIRS, seconds, terms, pairs, 0)
    pair_terms, pair_counts = _counted(pairs[:n_pairs])
    columns = np.empty(len(distinct) + len(pair_terms), dtype=np.int64)
    found = np.empty(len(columns), dtype=np.int64)
    for i in range(len(distinct)):
        columns[i] = info[distinct[i], TERM]
        found[i] = counts[i]
    columns[len(distinct):] = pair_terms
    found[len(distinct):] = pair_counts
    return columns, found


@njit(cache=True, nogil=True)
def paper_scores(title, abstract, words, phrases, lsa, representation, classifier,
                 calibration):
    """Calibrated scores of one paper given the lemma codes of its title and abstract
    (``calibration``: threshold logits and slopes, see ``tagger.calibration.calibrated``);
    with empty calibration arrays, its raw logits."""
    logits = paper_logits(title, abstract, words, phrases, lsa, representation, classifier)
    thresholds, slopes = calibration
    if len(thresholds) == 0:
        return logits
    scores = np.empty(len(logits), dtype=np.float64)
    for k in range(len(logits)):
        z = min(max((logits[k] - thresholds[k]) * slopes[k], -40.0), 40.0)
        scores[k] = 1.0 / (1.0 + math.exp(-z))
    return scores


@njit(cache=True, nogil=True)
def paper_logits(title, abstract, words, phrases, lsa, representation, classifier):
    """Raw logits of one paper given the lemma codes of its title and abstract."""
    info, word_seconds, word_columns, word_idf, title_weight = words
    coef, intercept = classifier
    logits = intercept.copy()
    title_content = _content(title, info)
    abstract_content = _content(abstract, info)
    # word block: the paper's n-grams (never across the title/abstract boundary) ...
    distinct, counts = _add_word_row((title_content, abstract_content), info, word_seconds,
                                     word_columns, word_idf, 1.0, coef, logits)
    # ... plus the title's own row
    if title_weight != 0.0 and len(title_content):
        _add_word_row((title_content, title_content[:0]), info, word_seconds, word_columns,
                      word_idf, title_weight, coef, logits)
    offset = coef.shape[0] - _dense_width(phrases, lsa, representation)
    # taxonomy phrases: the paper's counts, then the title's
    rows, lengths, theme_starts, themes, n_themes, phrase_weight, title_phrases = phrases
    if n_themes:
        title_counts = np.zeros(n_themes, dtype=np.float64)
        _phrase_counts(title, info, rows, lengths, theme_starts, themes, title_counts)
        paper = title_counts.copy()
        _phrase_counts(abstract, info, rows, lengths, theme_starts, themes, paper)
        _add_dense(np.log1p(paper), phrase_weight, coef, offset, logits)
        offset += n_themes
        if title_phrases:
            _add_dense(np.log1p(title_counts), phrase_weight, coef, offset, logits)
            offset += n_themes
    # LSA: unigrams of the LSA vocabulary, projected, scaled to length lsa_weight
    lsa_idf, lsa_projection, lsa_weight = lsa
    if lsa_projection.shape[1]:
        columns = np.empty(len(distinct), dtype=np.int64)
        for i in range(len(distinct)):
            columns[i] = info[distinct[i], LSA]
        projected = _projected(columns, counts, lsa_idf, lsa_projection)
        length = _length(projected)
        _add_dense(projected, lsa_weight / length if length else 0.0, coef, offset, logits)
        offset += lsa_projection.shape[1]
    # feed representation: title and abstract as one word list
    mode, term_seconds, term_columns, rep_idf, rep_projection, rep_intercept, weight = \
        representation
    if mode:
        columns, found = _term_counts(distinct, counts,
                                      np.concatenate((title_content, abstract_content)),
                                      info, term_seconds, term_columns)
        vector = _projected(columns, found, rep_idf, rep_projection) + rep_intercept
        if mode == PROBABILITY:  # probabilities keep their scale
            vector = (1.0 / (1.0 + np.exp(-vector))).astype(np.float32)
            _add_dense(vector, weight, coef, offset, logits)
        else:  # a direction: unit length times the weight
            length = _length(vector)
            _add_dense(vector, weight / length if length else 0.0, coef, offset, logits)
    return logits


@njit(cache=True, nogil=True)
def _dense_width(phrases, lsa, representation):
    """Columns after the word block: phrase blocks, LSA, representation."""
    n_themes, title_phrases = phrases[4], phrases[6]
    width = n_themes * (2 if title_phrases else 1)
    width += lsa[1].shape[1]
    if representation[0]:
        width += representation[4].shape[1]
    return width


# -- words to codes --------------------------------------------------------------------------
# ``tagger.text.words``: maximal runs of letters and digits of the lowercased text. Here the
# UTF-8 bytes are decoded, each character lowercased and classified through per-character
# tables (``tagger.compiled.character_tables``), and each word hashed (64-bit FNV-1a of its
# lowercase UTF-8 bytes) while it is read; the hash is looked up in an open-addressing table
# of the words whose code is not the default one, so no Python string is made for a word.
# Text whose lowercasing needs context or more than one character (a capital sigma, a
# character outside the Basic Multilingual Plane, ...) is reported, and read in Python.

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
WORD_CHARACTER, DIGIT = 1, 2  # bits of the character-kind table


@njit(cache=True, nogil=True, inline="always")
def _fnv(value, byte):
    return (value ^ np.uint64(byte)) * _FNV_PRIME


@njit(cache=True, nogil=True)
def word_hashes(data, lower, kind):
    """``(hashes, defaults, ok)`` for the words of UTF-8 ``data``: each word's hash, whether
    a word outside the table would be dropped (one character or all digits) or kept, and
    False when the text needs the Python reader (then the arrays mean nothing)."""
    hashes = np.empty(len(data) // 2 + 1, dtype=np.uint64)
    dropped = np.empty(len(data) // 2 + 1, dtype=np.int64)
    n = 0
    value = _FNV_OFFSET
    length = 0  # characters in the current word (0: between words)
    digits = True
    i = 0
    size = len(data)
    while i <= size:
        if i == size:
            character = 32  # a space ends the last word
            i += 1
        else:
            byte = data[i]
            if byte < 0x80:
                character = byte
                i += 1
            elif byte < 0xE0:
                character = ((byte & 0x1F) << 6) | (data[i + 1] & 0x3F)
                i += 2
            elif byte < 0xF0:
                character = ((byte & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (
                    data[i + 2] & 0x3F)
                i += 3
            else:  # outside the Basic Multilingual Plane
                return hashes[:0], dropped[:0], False
        lowered = lower[character]
        if lowered < 0:
            return hashes[:0], dropped[:0], False
        flags = kind[character]
        if flags & WORD_CHARACTER:
            if lowered < 0x80:
                value = _fnv(value, lowered)
            elif lowered < 0x800:
                value = _fnv(_fnv(value, 0xC0 | (lowered >> 6)), 0x80 | (lowered & 0x3F))
            else:
                value = _fnv(_fnv(_fnv(value, 0xE0 | (lowered >> 12)),
                                  0x80 | ((lowered >> 6) & 0x3F)), 0x80 | (lowered & 0x3F))
            length += 1
            digits = digits and (flags & DIGIT) != 0
        elif length:
            hashes[n] = value
            dropped[n] = 1 if digits or length == 1 else 0
            n += 1
            value = _FNV_OFFSET
            length = 0
            digits = True
    return hashes[:n], dropped[:n], True


@njit(cache=True, nogil=True)
def hash_table(hashes, codes, capacity):
    """Open addressing (linear probing) of ``hashes -> codes`` as rows ``(key, code)`` (one
    cache line per probe); ``capacity`` a power of two larger than the number of keys, key 0
    the empty slot (a word hashing to 0 would simply take the default code)."""
    table = np.zeros((capacity, 2), dtype=np.uint64)
    mask = np.uint64(capacity - 1)
    for i in range(len(hashes)):
        slot = hashes[i] & mask
        while table[slot, 0] != 0 and table[slot, 0] != hashes[i]:
            slot = (slot + np.uint64(1)) & mask
        table[slot, 0] = hashes[i]
        table[slot, 1] = np.uint64(codes[i])
    return table


@njit(cache=True, nogil=True)
def text_codes(data, reader):
    """``(codes, ok)``: lemma codes of the words of UTF-8 ``data``: the table's code, else
    the default (a word outside the table is its own lemma and no vocabulary has it:
    unknown content, unless it is one character or all digits)."""
    table, lower, kind, unknown_content, unknown_other = reader
    hashes, dropped, ok = word_hashes(data, lower, kind)
    mask = np.uint64(len(table) - 1)
    out = np.empty(len(hashes), dtype=np.int64)
    for i in range(len(hashes)):
        value = hashes[i]
        slot = value & mask
        code = -1
        while table[slot, 0] != 0:
            if table[slot, 0] == value:
                code = np.int64(table[slot, 1])
                break
            slot = (slot + np.uint64(1)) & mask
        if code < 0:
            code = unknown_other if dropped[i] else unknown_content
        out[i] = code
    return out, ok


@njit(cache=True, nogil=True)
def text_paper_scores(title, abstract, reader, words, phrases, lsa, representation,
                      classifier, calibration):
    """``(scores, ok)``: :func:`paper_scores` of a paper given as UTF-8 bytes, in one call
    from Python; not ok when a field needs the Python reader."""
    title_codes, title_ok = text_codes(title, reader)
    abstract_codes, abstract_ok = text_codes(abstract, reader)
    if not (title_ok and abstract_ok):
        return np.zeros(0), False
    return paper_scores(title_codes, abstract_codes, words, phrases, lsa, representation,
                        classifier, calibration), True
