"""Organisation mentions: the gazetteer's aliases in every language, plus Russian NER.

Every item is scanned for gazetteer aliases (the same phrase matcher as topic terms, so
"Шанхайской организации сотрудничества", "SCO" and "ШЫҰ-ның" all count for `sco`). For on-topic
Russian items, natasha's NER also proposes ORG spans; a span the gazetteer does not already
cover is mapped to an organisation by fuzzy match against the aliases' lemmas, else kept under
a slug of its own lemmas (natasha's `normal` mangles multi-word names, so it is not used).
natasha is loaded lazily, once, only when needed.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from storage.text import KAZAKH_LETTERS, lemma
from storage.text import _morph as morph
from topics.definitions import Gazetteer
from topics.matcher import Match, Matcher, compile_phrase, leftmost_longest, words

FUZZY_CUTOFF = 90
NER_MAX_CHARS = 4000
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_DOMAIN = re.compile(r"\.\s*(kz|ru|com|org|net|uz|kg|cn)\b", re.IGNORECASE)


@dataclass
class OrgsFound:
    counts: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


class NerTagger:
    """natasha's Russian NER, loaded on first use (thread-safe, once per process)."""

    _lock = threading.Lock()
    _tagger: Any = None

    @classmethod
    def _load(cls) -> Any:
        with cls._lock:
            if cls._tagger is None:
                os.environ.setdefault("OMP_NUM_THREADS", "1")
                from natasha import NewsEmbedding, NewsNERTagger

                cls._tagger = NewsNERTagger(NewsEmbedding())
            return cls._tagger

    def org_spans(self, text: str) -> list[str]:
        """The ORG spans of a Russian text, as written."""
        return self.org_spans_many([text])[0]

    def org_spans_many(self, texts: Sequence[str]) -> list[list[str]]:
        """The ORG spans of each text, as written, the texts tagged in batches.

        The tagger is called directly rather than through natasha's `Doc`, whose sentence
        and token segmentation the spans do not need (the tagger tokenises on its own).
        """
        cut = [text[:NER_MAX_CHARS] for text in texts]
        todo = [text for text in cut if text.strip()]
        markups = iter(self._load().map(todo) if todo else ())  # natasha loads when needed
        return [
            [text[s.start:s.stop] for s in next(markups).spans if s.type == "ORG"]
            if text.strip() else []
            for text in cut
        ]


LEGAL_FORMS = frozenset({"ао", "тоо", "оао", "зао", "пао", "ооо", "нк", "рк", "ltd", "llc", "jsc"})


def slug(text: str) -> str:
    """A stable key for an organisation outside the gazetteer: its folded lemmas."""
    return "-".join(lemma(word) for word in words(text) if word not in LEGAL_FORMS)


def _generic(span: str) -> bool:
    """A one-word span that is a common Russian noun ("Совет", "Альянс"), not a name."""
    parts = words(span)
    if len(parts) != 1 or not _CYRILLIC.search(span):
        return False
    parse = morph().parse(parts[0])[0]
    return parse.tag.POS == "NOUN" and not {"Orgn", "Abbr", "Geox", "Name"} & parse.tag.grammemes


def _is_russian(text: str) -> bool:
    return bool(_CYRILLIC.search(text)) and not KAZAKH_LETTERS.intersection(text.lower())


@dataclass(frozen=True)
class OrgQuery:
    """One item to find organisations in: its phrase matches, and whether NER should run."""

    matches: Sequence[Match]
    title: str
    text: str
    lang: str | None
    deep: bool

    @property
    def russian(self) -> bool:
        return self.lang == "ru" or (
            self.lang is None and _is_russian(self.title + " " + self.text)
        )


class OrgExtractor:
    """Finds organisation mentions through the gazetteer (and NER when asked)."""

    def __init__(self, gazetteer: Gazetteer, ner: NerTagger | None = None) -> None:
        self.gazetteer = gazetteer
        self.ner = ner
        self._keys: dict[tuple[str, ...], list[str]] = {}
        self._display: dict[str, str] = {}
        choices: dict[str, str] = {}
        for entry in gazetteer.entries:
            self._display[entry.key] = entry.display("ru")
            for alias, lang in entry.alias_langs():
                for phrase in compile_phrase(alias, lang):
                    if entry.key not in self._keys.setdefault(phrase, []):
                        self._keys[phrase].append(entry.key)
                choices.setdefault(" ".join(lemma(w) for w in words(alias)), entry.key)
        self._fuzzy_choices = choices
        self._span_matcher = Matcher(self._keys)

    @property
    def phrases(self) -> list[tuple[str, ...]]:
        return list(self._keys)

    def resolve(self, name: str) -> str | None:
        """The gazetteer key of an organisation name in any language, or None."""
        matches = self._span_matcher.find(words(name))
        if matches:
            best = max(matches, key=lambda m: (m.end - m.start, -m.start))
            return self._keys[best.phrase][0]
        hit = process.extractOne(
            " ".join(lemma(w) for w in words(name)),
            self._fuzzy_choices.keys(),
            scorer=fuzz.ratio,
            score_cutoff=FUZZY_CUTOFF,
        )
        return self._fuzzy_choices[hit[0]] if hit else None

    def extract_many(self, queries: Sequence[OrgQuery]) -> list[OrgsFound]:
        """Organisation mentions of each item from its phrase matches, plus NER spans for the
        deep Russian ones (tagged together: batches cost far less per text)."""
        found: list[tuple[Counter[str], dict[str, str]]] = []
        for query in queries:
            counts: Counter[str] = Counter()
            for match in leftmost_longest(m for m in query.matches if m.phrase in self._keys):
                counts.update(self._keys[match.phrase])
            found.append((counts, {key: self._display[key] for key in counts}))
        if self.ner is not None:
            deep = [i for i, q in enumerate(queries) if q.deep and q.russian]
            texts = [f"{queries[i].title}\n{queries[i].text}" for i in deep]
            for i, spans in zip(deep, self.ner.org_spans_many(texts), strict=True):
                self._add_ner(spans, *found[i])
        return [OrgsFound(dict(sorted(counts.items())), names) for counts, names in found]

    def _add_ner(self, spans: Sequence[str], counts: Counter[str], names: dict[str, str]) -> None:
        for span in spans:
            if (
                _DOMAIN.search(span)
                or len(span) < 3
                or _generic(span)
                or self._span_matcher.find(words(span))
            ):
                continue  # an outlet's address, a common noun, or counted through the gazetteer
            key = self.resolve(span) or slug(span)
            if not key:
                continue
            counts[key] += 1
            names.setdefault(key, self._display.get(key, span))
