"""Tokenising: the ASCII fast path cuts words exactly where the regex does."""

from __future__ import annotations

import random
import string

from tagger.text import _TOKEN, lemmas, tokenize, words


def test_ascii_fast_path_equals_the_regex():
    rng = random.Random(7)
    alphabet = string.printable + "____"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
             for _ in range(2000)]
    texts += ["State-Space Models (SSMs) and S4_D: 3x faster!", "a_b", "_", "", "A1b2-C3"]
    for text in texts:
        assert text.isascii()
        assert words(text) == _TOKEN.findall(text.lower()), text


def test_non_ascii_text_uses_the_regex():
    text = "Modèles à espace d’états — Straße_2 naïve"
    assert words(text) == ["modèles", "à", "espace", "d", "états", "straße", "2", "naïve"]


def test_lemmas_agree_with_the_offsets_of_tokenize():
    text = "Diffusion Models were trained; the models' outputs (images) improved."
    assert lemmas(text) == [token.lemma for token in tokenize(text)]
