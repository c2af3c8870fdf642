"""Tokens and word forms shared by the search index and topic scoring: one normalisation.

Russian words are lemmatised with pymorphy3 (cached: news reuses a small vocabulary);
ё is folded to е and case is ignored. Kazakh and English words are folded only.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pymorphy3

# Cyrillic (with the Kazakh letters ә ғ қ ң ө ұ ү һ і), Latin and digits; inner hyphens kept.
WORD_RE = re.compile(r"[0-9a-zа-яёәғқңөұүһі]+(?:-[0-9a-zа-яёәғқңөұүһі]+)*", re.IGNORECASE)
KAZAKH_LETTERS = frozenset("әғқңөұүһі")
_CYRILLIC_RE = re.compile(r"[а-я]")


def fold(text: str) -> str:
    """Lower-case with ё folded to е."""
    return text.lower().replace("ё", "е")


def tokenize(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return WORD_RE.findall(fold(text))


@lru_cache(maxsize=1)
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The dictionary form of a folded word (Russian only; others come back unchanged)."""
    if not _CYRILLIC_RE.search(word) or KAZAKH_LETTERS.intersection(word):
        return word
    return fold(_morph().parse(word)[0].normal_form)


def lemmas(text: str) -> list[str]:
    """The lemmas of the words of `text`, in order."""
    return [lemma(word) for word in tokenize(text)]
