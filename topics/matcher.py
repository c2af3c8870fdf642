"""Phrase matching over Russian lemmas and Kazakh / English stems.

A document is cut into words with `storage.text.tokenize` (hyphenated words are split, so
"ШЫҰ-ның" gives "шыұ" and "ның"). A lexicon phrase is a sequence of word patterns:

- a Russian word (no Kazakh letters, Cyrillic) matches by lemma, so every declension matches
  ("Шанхайской организации сотрудничества" = "Шанхайская организация сотрудничества");
- a Kazakh or English word of four letters or more matches as a prefix: Kazakh is agglutinative
  ("экология" matches "экологиялық", "климат" matches "климаттық") and English inflects by
  suffixes ("emission" matches "emissions"); shorter words must match whole ("SCO", "ЖЭК").

Pattern keys carry a one-letter namespace: "=" for a lemma, "~" for a stem.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from storage.text import KAZAKH_LETTERS, fold, lemma, tokenize
from storage.text import _morph as morph

MIN_STEM = 4
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


def words(text: str) -> list[str]:
    """The folded words of `text` with hyphenated words split into their parts."""
    out: list[str] = []
    for token in tokenize(text):
        if "-" in token:
            out.extend(part for part in token.split("-") if part)
        else:
            out.append(token)
    return out


def word_lang(word: str, lang: str | None = None) -> str:
    """"ru" when a word is matched by lemma, "stem" when by prefix."""
    if lang in ("kk", "en") or KAZAKH_LETTERS.intersection(word) or _LATIN.intersection(word):
        return "stem"
    if word.isdigit():
        return "stem"
    return "ru"


@lru_cache(maxsize=20_000)
def pattern_keys(word: str, lang: str | None = None) -> tuple[str, ...]:
    """The keys a lexicon word may be looked up by (`lang`: the lexicon list it is in).

    A Russian word whose form is ambiguous ("газы": газ or газа) accepts the lemma a text word
    gets and every lemma of which it is a nominative form, so lexicon words may be written in
    the nominative plural or in the genitive of a phrase.
    """
    if word_lang(word, lang) != "ru":
        return ("~" + word,)
    keys = {lemma(word)}
    keys.update(fold(p.normal_form) for p in morph().parse(word) if "nomn" in p.tag)
    return tuple(sorted("=" + key for key in keys))


def compile_phrase(phrase: str, lang: str | None = None) -> list[tuple[str, ...]]:
    """A lexicon phrase as its variants, tuples of pattern keys (none when it has no words)."""
    options = [pattern_keys(word, lang) for word in words(phrase)]
    if not options:
        return []
    return [tuple(variant) for variant in itertools.product(*options)]


def _token_candidates(token: str) -> list[str]:
    keys = ["=" + lemma(token), "~" + token]
    keys.extend("~" + token[:k] for k in range(MIN_STEM, len(token)))
    return keys


@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence of a phrase: tokens `start` up to (not including) `end`."""

    start: int
    end: int
    phrase: tuple[str, ...]


class Matcher:
    """Finds every occurrence of a fixed set of phrases in a word sequence.

    Each distinct word is resolved once to the pattern keys it satisfies (cached per matcher),
    so scanning a document costs one dictionary lookup a word plus the phrase checks.
    """

    def __init__(self, phrases: Iterable[tuple[str, ...]]) -> None:
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        vocabulary: set[str] = set()
        for phrase in sorted(set(phrases)):
            if not phrase:
                continue
            self._by_first.setdefault(phrase[0], []).append(phrase)
            vocabulary.update(phrase)
        for candidates in self._by_first.values():
            candidates.sort(key=len, reverse=True)
        self._vocabulary = frozenset(vocabulary)
        self._cache: dict[str, frozenset[str]] = {}

    def keys(self, token: str) -> frozenset[str]:
        """The pattern keys a document word satisfies."""
        found = self._cache.get(token)
        if found is None:
            found = frozenset(k for k in _token_candidates(token) if k in self._vocabulary)
            self._cache[token] = found
        return found

    def find(self, tokens: Sequence[str]) -> list[Match]:
        """Every occurrence of every phrase (overlaps included), in order of start."""
        token_keys = [self.keys(token) for token in tokens]
        matches: list[Match] = []
        n = len(tokens)
        for start, keys in enumerate(token_keys):
            for key in keys:
                for phrase in self._by_first.get(key, ()):
                    end = start + len(phrase)
                    if end <= n and all(
                        phrase[j] in token_keys[start + j] for j in range(1, len(phrase))
                    ):
                        matches.append(Match(start, end, phrase))
        return matches


def leftmost_longest(
    matches: Iterable[Match], tie_break: Callable[[Match], tuple] = lambda m: m.phrase
) -> list[Match]:
    """Non-overlapping matches: the earliest, then the longest, then by `tie_break`.

    Explicit tie-breaking keeps results the same from run to run (set order is not).
    """
    chosen: list[Match] = []
    covered = 0
    ordered = sorted(matches, key=lambda m: (m.start, m.start - m.end, tie_break(m)))
    for match in ordered:
        if match.start >= covered:
            chosen.append(match)
            covered = match.end
    return chosen
