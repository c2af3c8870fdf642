"""Learning a topic's vocabulary from example texts (the seed articles, admins' examples).

A term is a Russian content word or a phrase of two or three of them (adjectives, participles
and nouns ending in a noun: "возобновляемый источник энергия", "изменение климат"), all as
lemmas with ё folded to е. A term is topical when it is much more frequent in the examples than
in general Russian (`wordfreq`): its weight grows with log10(p_examples / p_background).

- A word's background frequency is summed over all its forms (pymorphy3 lexeme), to compare
  lemma with lemma. A phrase's background is wordfreq's combination of its words
  (1/f = sum 1/f_i), which never makes a phrase rarer than its rarest word: conservative.
- Names are not topic vocabulary (people, places and organisations come and go; organisations
  have the gazetteer): words pymorphy tags as names / places or that the text mostly
  capitalises are left out.
- Terms must recur (in two documents when there are several), so one article's quirks do not
  become the topic's vocabulary.

Everything is deterministic: same texts in, same terms and weights out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from wordfreq import word_frequency

from storage.text import WORD_RE, fold, lemma
from storage.text import _morph as morph

PROPER_TAGS = frozenset({"Geox", "Name", "Surn", "Patr", "Orgn", "Trad", "Abbr", "Init"})
MODIFIER_POS = frozenset({"ADJF", "PRTF", "NOUN"})
BACKGROUND_FLOOR = 1e-7
MIN_LOG_RATIO = 2.0  # at least 100 times more frequent than in general Russian
MAX_LOG_RATIO = 4.0
_RUSSIAN = re.compile(r"^[а-я]+$")


@dataclass(frozen=True, slots=True)
class LearnedTerm:
    """A topical term: its lemmas, pattern keys, weight and how often the examples use it."""

    text: str  # a word's lemma, a phrase's most frequent form: what admins see
    phrase: tuple[str, ...]
    weight: float
    count: int


@dataclass(frozen=True, slots=True)
class _Word:
    lemma: str
    pos: str | None
    capitalised: bool
    form: str  # as written, folded


@lru_cache(maxsize=50_000)
def _analyse(word: str) -> tuple[str, str | None, bool]:
    """(lemma, part of speech or None when not a Russian content word, is a name)."""
    if not _RUSSIAN.match(word) or len(word) < 3:
        return word, None, False
    parse = morph().parse(word)[0]
    proper = bool(PROPER_TAGS.intersection(parse.tag.grammemes))
    return lemma(word), parse.tag.POS, proper


@lru_cache(maxsize=50_000)
def background(lemma_text: str) -> float:
    """Frequency of a lemma in general Russian: the sum over all its word forms."""
    parses = morph().parse(lemma_text)
    forms = {fold(form.word) for form in parses[0].lexeme} if parses else set()
    forms.add(lemma_text)
    return max(sum(word_frequency(form, "ru") for form in forms), BACKGROUND_FLOOR)


def _phrase_background(lemma_list: Sequence[str]) -> float:
    return 1.0 / sum(1.0 / background(item) for item in lemma_list)


def _document_words(text: str) -> list[_Word | None]:
    """The words of a text; None marks a word that breaks phrases (not a content word)."""
    out: list[_Word | None] = []
    for match in WORD_RE.finditer(text):
        for part in match.group().split("-"):
            if not part:
                continue
            folded = fold(part)
            lemma_text, pos, proper = _analyse(folded)
            if pos is None or proper:
                out.append(None)
                continue
            out.append(_Word(lemma_text, pos, part[0].isupper(), folded))
    return out


def learn_terms(
    texts: Sequence[str], *, min_count: int = 2, max_terms: int = 200, scale: float = 1.0
) -> list[LearnedTerm]:
    """The topical terms of `texts`, strongest first; weights in (0, `scale`].

    A term must occur `min_count` times overall, and in two texts when there are several.
    """
    counts: Counter[tuple[str, ...]] = Counter()
    docs: Counter[tuple[str, ...]] = Counter()
    capitals: Counter[str] = Counter()
    forms: dict[tuple[str, ...], Counter[str]] = {}
    total = 0
    for text in texts:
        seq = _document_words(text)
        total += len(seq)
        seen: set[tuple[str, ...]] = set()
        for i, word in enumerate(seq):
            if word is None:
                continue
            capitals[word.lemma] += 1 if word.capitalised else -1
            if word.pos in MODIFIER_POS:
                seen.add((word.lemma,))
                counts[(word.lemma,)] += 1
            if word.pos != "NOUN":
                continue
            for n in (2, 3):
                window = seq[i - n + 1 : i + 1] if i >= n - 1 else []
                if len(window) == n and all(
                    w is not None and w.pos in MODIFIER_POS for w in window[:-1]
                ):
                    gram = tuple(w.lemma for w in window if w is not None)
                    counts[gram] += 1
                    form = " ".join(w.form for w in window if w is not None)
                    forms.setdefault(gram, Counter())[form] += 1
                    seen.add(gram)
        docs.update(seen)
    if not total:
        return []
    min_docs = 2 if len(texts) > 1 else 1
    terms: list[LearnedTerm] = []
    for gram, count in counts.items():
        if count < min_count or docs[gram] < min_docs or any(capitals[w] > 0 for w in gram):
            continue
        bg = background(gram[0]) if len(gram) == 1 else _phrase_background(gram)
        ratio = math.log10(count / total / bg)
        if ratio < MIN_LOG_RATIO:
            continue
        strength = min(ratio, MAX_LOG_RATIO) - MIN_LOG_RATIO + 1.0
        weight = scale * strength / (MAX_LOG_RATIO - MIN_LOG_RATIO + 1.0)
        weight *= 1.0 if len(gram) > 1 else 0.6
        phrase = tuple("=" + w for w in gram)
        label = gram[0] if len(gram) == 1 else min(
            forms[gram].items(), key=lambda pair: (-pair[1], pair[0])
        )[0]
        terms.append(LearnedTerm(label, phrase, round(weight, 4), count))
    terms.sort(key=lambda t: (-t.weight * math.log2(1 + t.count), t.text))
    return terms[:max_terms]
