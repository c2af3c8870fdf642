"""Scoring items against topic models and explaining the scores.

A topic model is a set of weighted terms (phrases). For an item, each matched term contributes
weight x evidence, where evidence sums the positions it occurs at (title 2.0, first 40 words of
the text 1.5, up to word 200 1.0, up to word 600 0.5, later 0), each further occurrence
counting half the one before. The raw sum becomes a score in
[0, 1] through 1 - exp(-raw / scale); the score is then scaled down by the topic's anchor gate
(min(1, anchor / anchor_min) squared): the topic's own names (or its core terms, in proportion
to their weight) must be mentioned substantially (`anchor_min` position-weighted mentions: in
the title, or more than once), so a passing mention or generic vocabulary alone never flags.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from topics.matcher import Match, Matcher, leftmost_longest, words
from topics.orgs import OrgExtractor, OrgQuery

TITLE_WEIGHT = 2.0
LEAD_WEIGHT = 1.5
BODY_WEIGHT = 1.0
TAIL_WEIGHT = 0.5
LEAD_WORDS = 40
BODY_WORDS = 200  # news put what matters first: words after this count half ...
MAX_WORDS = 600  # ... and after this not at all for topics (organisations still count)
REPEAT_DECAY = 0.5
STRONG_TERM = 2.0  # a core term this strong counts fully towards a "core" anchor


@dataclass(frozen=True, slots=True)
class Term:
    """A weighted phrase of a topic. `kind`: alias | core | learned | example | rule."""

    text: str
    phrase: tuple[str, ...]
    weight: float
    kind: str


@dataclass
class TopicModel:
    """Everything needed to score one topic."""

    id: str
    names: dict[str, str]
    description: str
    threshold: float
    scale: float
    anchor: str  # "aliases" | "core"
    anchor_min: float
    terms: dict[tuple[str, ...], Term]

    def anchor_strength(self, term: Term) -> float:
        """How much a mention of `term` counts towards the anchor (0..1)."""
        if term.kind == "alias":
            return 1.0
        if self.anchor == "core" and term.kind in ("core", "rule", "example") and term.weight > 0:
            return min(1.0, term.weight / STRONG_TERM)
        return 0.0


@dataclass
class Classification:
    """The verdict on one item: on-topic ids (best first), every topic's score, the evidence."""

    topics: list[str]
    scores: dict[str, float]
    why: dict[str, list[tuple[str, float]]]
    orgs: dict[str, int] = field(default_factory=dict)
    org_names: dict[str, str] = field(default_factory=dict)  # org key -> display name

    def on(self, topic_id: str) -> bool:
        return topic_id in self.topics


def _positions(title: str, text: str) -> tuple[list[str], list[float]]:
    """The item's words and each word's position weight (a repeated title is read once)."""
    title_words = words(title)
    body = words(text)
    if title_words and body[: len(title_words)] == title_words:
        body = body[len(title_words) :]
    weights = [TITLE_WEIGHT] * len(title_words)
    weights += [_body_weight(i) for i in range(len(body))]
    return title_words + body, weights


def _body_weight(index: int) -> float:
    if index < LEAD_WORDS:
        return LEAD_WEIGHT
    if index < BODY_WORDS:
        return BODY_WEIGHT
    return TAIL_WEIGHT if index < MAX_WORDS else 0.0


def _evidence(position_weights: list[float]) -> float:
    ordered = sorted(position_weights, reverse=True)
    return sum(w * REPEAT_DECAY**i for i, w in enumerate(ordered))


class Classifier:
    """Scores items against a fixed set of topic models; immutable once built."""

    def __init__(self, models: Sequence[TopicModel], orgs: OrgExtractor) -> None:
        self.models = {model.id: model for model in models}
        self.orgs = orgs
        phrases = [p for model in models for p in model.terms]
        self._matcher = Matcher([*phrases, *orgs.phrases])

    @property
    def topic_ids(self) -> list[str]:
        return list(self.models)

    def threshold(self, topic_id: str) -> float:
        return self.models[topic_id].threshold

    def names(self, topic_id: str) -> dict[str, str]:
        return dict(self.models[topic_id].names)

    def _score(
        self, model: TopicModel, matches: list[Match], weights: list[float]
    ) -> tuple[float, list[tuple[str, float]]]:
        terms = model.terms
        own = leftmost_longest(
            (m for m in matches if m.phrase in terms),
            lambda m: (-abs(terms[m.phrase].weight), terms[m.phrase].text, m.phrase),
        )
        # Terms that read the same (a Russian lemma and a Kazakh stem of "саммит") are one
        # term: the strongest of them counts, and its repeats count as repeats.
        occurrences: dict[str, list[float]] = defaultdict(list)
        strongest: dict[str, Term] = {}
        for match in own:
            if weights[match.start] > 0:
                term = terms[match.phrase]
                occurrences[term.text].append(weights[match.start])
                known = strongest.get(term.text)
                if known is None or abs(term.weight) > abs(known.weight):
                    strongest[term.text] = term
        raw = 0.0
        anchor = 0.0
        why: list[tuple[str, float]] = []
        for text, positions in occurrences.items():
            term = strongest[text]
            contribution = term.weight * _evidence(positions)
            raw += contribution
            anchor += model.anchor_strength(term) * sum(positions)
            why.append((term.text, round(contribution, 3)))
        gate = min(1.0, anchor / model.anchor_min) ** 2 if model.anchor_min > 0 else 1.0
        score = (1.0 - math.exp(-max(raw, 0.0) / model.scale)) * gate
        why.sort(key=lambda pair: (-abs(pair[1]), pair[0]))
        return round(score, 4), why

    def score(self, title: str, text: str, topic_id: str) -> float:
        """One topic's score only (no organisations): what previews need."""
        tokens, weights = _positions(title, text)
        return self._score(self.models[topic_id], self._matcher.find(tokens), weights)[0]

    def classify(self, title: str, text: str, lang: str | None = None) -> Classification:
        """Score one item (`lang` helps organisation extraction; matching is language-free)."""
        return self.classify_many([(title, text, lang)])[0]

    def classify_many(
        self, items: Sequence[tuple[str, str, str | None]]
    ) -> list[Classification]:
        """Score a batch of (title, text, lang) items, in order (NER runs once per batch)."""
        verdicts = []
        queries = []
        for title, text, lang in items:
            tokens, weights = _positions(title, text)
            matches = self._matcher.find(tokens)
            scores: dict[str, float] = {}
            why: dict[str, list[tuple[str, float]]] = {}
            for model in self.models.values():
                scores[model.id], why[model.id] = self._score(model, matches, weights)
            on_topic = sorted(
                (tid for tid, s in scores.items() if s >= self.models[tid].threshold),
                key=lambda tid: (-scores[tid], tid),
            )
            verdicts.append((on_topic, scores, why))
            queries.append(OrgQuery(matches, title, text, lang, deep=bool(on_topic)))
        return [
            Classification(on_topic, scores, why, found.counts, found.names)
            for (on_topic, scores, why), found in zip(
                verdicts, self.orgs.extract_many(queries), strict=True
            )
        ]
