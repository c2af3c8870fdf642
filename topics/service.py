"""Tuning topics from the bot: the API admin commands call, with every change stored.

The classifier is rebuilt from the seeds plus the stored tuning after each change and swapped
in at once (readers always see a complete classifier). `preview` applies a change to a copy
of the tuning and compares what the topic would catch among recent items, without storing it.
"""

from __future__ import annotations

import asyncio
import copy
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from storage import topics as store
from storage.db import Database
from storage.models import Topic, utcnow
from topics.build import (
    Example,
    Tuning,
    build_classifier,
    topic_defs,
)
from topics.definitions import LANGS, TopicDef
from topics.matcher import compile_phrase
from topics.model import Classifier

MAX_WEIGHT = 10.0
MAX_TERM_CHARS = 100
MAX_DAYS = 366
RESCORE_BATCH = 200
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


class TuningError(ValueError):
    """A refused change; the message is meant for the admin who asked.

    `code` names the kind of problem (for translated texts), `details` its parameters.
    """

    def __init__(self, message: str, code: str = "invalid", **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Change:
    """A tuning change, to preview or to apply.

    action: "add_term" (term, weight; negative excludes), "remove_term" (term),
    "set_threshold" (threshold), "add_example" (positive, item_id or text).
    `preview` also accepts the same as a dict.
    """

    action: str
    term: str | None = None
    weight: float | None = None
    threshold: float | None = None
    positive: bool | None = None
    text: str | None = None
    item_id: int | None = None

    @classmethod
    def of(cls, value: Change | Mapping[str, Any]) -> Change:
        if isinstance(value, Change):
            return value
        fields = {"action", "term", "weight", "threshold", "positive", "text", "item_id"}
        unknown = set(value) - fields
        if unknown or "action" not in value:
            raise TuningError("Unknown change.", "bad_change")
        return cls(**value)


@dataclass(frozen=True)
class PreviewItem:
    item_id: int
    title: str
    url: str
    score: float


@dataclass
class Preview:
    """On-topic items of the last days before and after a change (best first)."""

    before: list[PreviewItem]
    after: list[PreviewItem]
    gained: list[PreviewItem]
    lost: list[PreviewItem]


@dataclass
class TopicInfo:
    """What `/topic` shows."""

    id: str
    names: dict[str, str]
    description: str
    threshold: float
    terms: list[tuple[str, float]]  # the strongest learned terms
    rules: list[tuple[str, float]]  # admins' terms (weight 0 = a seeds term switched off)
    positive_examples: int
    negative_examples: int
    hits_week: int = 0
    seeds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeRecord:
    """One logged tuning change: what, who (Telegram user id) and when (UTC)."""

    topic_id: str
    action: str
    detail: dict[str, Any]
    actor_id: int | None
    at: datetime


def _days(days: int) -> int:
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise TuningError(f"Days must be a whole number from 1 to {MAX_DAYS}.", "days",
                          max_days=MAX_DAYS)
    return days


class TopicService:
    """Topic definitions + stored tuning -> the current classifier; the tuning API."""

    def __init__(self, db: Database, seeds_dir: Path, *, ner: bool = True) -> None:
        self.db = db
        self.seeds_dir = Path(seeds_dir)
        self.ner = ner
        self._tuning = Tuning()
        self._classifier: Classifier | None = None
        self._lock = asyncio.Lock()

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            raise RuntimeError("TopicService.load() has not run")
        return self._classifier

    # ------------------------------------------------------------------ loading

    async def load(self) -> Classifier:
        """Rebuild the classifier from the seeds and everything stored in the database."""
        defs = topic_defs(self.seeds_dir, Tuning())
        await store.ensure_topics(self.db, [
            Topic(id=d.id, names=d.names, description=d.description, threshold=d.threshold)
            for d in defs
        ])
        self._tuning = await self._read_tuning({d.id for d in defs})
        self._classifier = await self._build(self._tuning)
        return self._classifier

    async def _read_tuning(self, seed_ids: set[str]) -> Tuning:
        tuning = Tuning()
        thresholds_set = await store.tuned_thresholds(self.db)
        for row in await store.all_topics(self.db):
            if row.id not in seed_ids:
                tuning.added.append(TopicDef(
                    id=row.id, names=dict(row.names), description=row.description,
                    threshold=row.threshold, anchor="core", anchor_min=1.0,
                ))
            elif row.id in thresholds_set:
                tuning.thresholds[row.id] = row.threshold
            if not row.enabled:
                tuning.disabled.add(row.id)
        for rule in await store.rules(self.db):
            tuning.rules.setdefault(rule.topic_id, {})[rule.term] = rule.weight
        for example in await store.examples(self.db):
            tuning.examples.setdefault(example.topic_id, []).append(
                Example(example.positive, example.text)
            )
        return tuning

    async def _build(self, tuning: Tuning) -> Classifier:
        return await asyncio.to_thread(build_classifier, self.seeds_dir, tuning, ner=self.ner)

    # ------------------------------------------------------------------ reading

    def _require(self, topic_id: str) -> None:
        if topic_id not in self.classifier.models:
            known = ", ".join(self.classifier.topic_ids)
            raise TuningError(
                f"Unknown topic “{topic_id}”. Topics: {known}.", "unknown_topic",
                topic=topic_id, known=known,
            )

    async def describe(self, topic_id: str, now: datetime | None = None) -> TopicInfo:
        self._require(topic_id)
        model = self.classifier.models[topic_id]
        terms = {t.text: t for t in model.terms.values()}.values()
        learned = sorted(
            ((t.text, t.weight) for t in terms if t.kind in ("learned", "example")),
            key=lambda p: -p[1],
        )
        examples = self._tuning.examples.get(topic_id, [])
        defs = {d.id: d for d in topic_defs(self.seeds_dir, self._tuning)}
        since = (now or utcnow()) - timedelta(days=7)
        return TopicInfo(
            id=topic_id,
            names=dict(model.names),
            description=model.description,
            threshold=model.threshold,
            terms=learned[:15],
            rules=sorted(self._tuning.rules.get(topic_id, {}).items()),
            positive_examples=sum(e.positive for e in examples),
            negative_examples=sum(not e.positive for e in examples),
            hits_week=await store.topic_hits(self.db, topic_id, since),
            seeds=list(defs[topic_id].seeds) if topic_id in defs else [],
        )

    async def list_topics(self, now: datetime | None = None) -> list[TopicInfo]:
        return [await self.describe(tid, now) for tid in self.classifier.topic_ids]

    async def history(self, topic_id: str | None = None, limit: int = 20) -> list[ChangeRecord]:
        """The latest tuning changes (of one topic or all), newest first."""
        return [
            ChangeRecord(c.topic_id, c.action, dict(c.detail), c.actor_id, c.at)
            for c in await store.changes(self.db, topic_id, limit)
        ]

    # ------------------------------------------------------------------ changes

    def _validate(self, topic_id: str, change: Change) -> Change:
        """The change with normalised values, or a TuningError saying what is wrong."""
        self._require(topic_id)
        if change.action in ("add_term", "remove_term"):
            term = " ".join((change.term or "").split())
            if not term or not compile_phrase(term):
                raise TuningError("The term must contain at least one word.", "empty_term")
            if len(term) > MAX_TERM_CHARS:
                raise TuningError(
                    f"The term is too long (at most {MAX_TERM_CHARS} characters).", "long_term",
                    max=MAX_TERM_CHARS,
                )
            if change.action == "remove_term":
                if not self._has_term(topic_id, term):
                    raise TuningError(
                        f"“{term}” is not a term of {topic_id}.", "no_term", term=term
                    )
                return Change("remove_term", term=term)
            weight = change.weight
            if (
                weight is None
                or not math.isfinite(weight)
                or weight == 0
                or abs(weight) > MAX_WEIGHT
            ):
                raise TuningError(
                    f"The weight must be a non-zero number from -{MAX_WEIGHT:g} to "
                    f"{MAX_WEIGHT:g} (negative excludes).", "bad_weight", max=f"{MAX_WEIGHT:g}",
                )
            return Change("add_term", term=term, weight=round(float(weight), 3))
        if change.action == "set_threshold":
            value = change.threshold
            if value is None or not math.isfinite(value) or not 0 < value < 1:
                raise TuningError(
                    "The threshold must be a number between 0 and 1, e.g. 0.5.", "bad_threshold"
                )
            return Change("set_threshold", threshold=round(float(value), 4))
        if change.action == "add_example":
            text = (change.text or "").strip()
            if not text:
                raise TuningError("The example has no text.", "empty_example")
            return Change("add_example", positive=bool(change.positive), text=text)
        raise TuningError(f"Unknown change “{change.action}”.", "bad_change")

    def _has_term(self, topic_id: str, term: str) -> bool:
        if term in self._tuning.rules.get(topic_id, {}):
            return True
        return any(p in self.classifier.models[topic_id].terms for p in compile_phrase(term))

    def _applied(self, topic_id: str, change: Change) -> Tuning:
        """A copy of the current tuning with `change` applied (validated already)."""
        tuning = copy.deepcopy(self._tuning)
        if change.action == "add_term":
            assert change.term is not None and change.weight is not None
            tuning.rules.setdefault(topic_id, {})[change.term] = change.weight
        elif change.action == "remove_term":
            assert change.term is not None
            tuning.rules.setdefault(topic_id, {})[change.term] = 0.0
        elif change.action == "set_threshold":
            assert change.threshold is not None
            tuning.thresholds[topic_id] = change.threshold
        elif change.action == "add_example":
            assert change.text is not None
            tuning.examples.setdefault(topic_id, []).append(
                Example(bool(change.positive), change.text)
            )
        return tuning

    async def _example_text(self, item_id: int | None, text: str | None) -> str:
        if item_id is None:
            return text or ""
        item = await store.get_item(self.db, item_id)
        if item is None:
            raise TuningError(f"There is no item #{item_id}.", "no_item", item_id=item_id)
        return f"{item.title}\n{item.text}"

    async def add_term(
        self, topic_id: str, term: str, weight: float, actor_id: int | None
    ) -> None:
        """Add or re-weight an include (weight > 0) or exclude (weight < 0) term."""
        change = self._validate(topic_id, Change("add_term", term=term, weight=weight))
        async with self._lock:
            assert change.term is not None and change.weight is not None
            await store.set_rule(self.db, topic_id, change.term, change.weight, actor_id,
                                 "add_term")
            await self.load()

    async def remove_term(self, topic_id: str, term: str, actor_id: int | None) -> None:
        """Remove a term: an admin's rule is deleted, a seeds / learned term is switched off."""
        change = self._validate(topic_id, Change("remove_term", term=term))
        assert change.term is not None
        async with self._lock:
            rules = self._tuning.rules.get(topic_id, {})
            # rebuilding a classifier takes ~1 s of CPU: off the event loop
            lexicon = await asyncio.to_thread(self._in_lexicon, topic_id, change.term)
            if change.term in rules and not lexicon:
                await store.delete_rule(self.db, topic_id, change.term, actor_id)
            else:
                await store.set_rule(self.db, topic_id, change.term, 0.0, actor_id,
                                     "remove_term")
            await self.load()

    def _in_lexicon(self, topic_id: str, term: str) -> bool:
        """Whether the term exists without the admins' rules (seeds, toml, examples)."""
        untuned = copy.deepcopy(self._tuning)
        untuned.rules.pop(topic_id, None)
        model = build_classifier(self.seeds_dir, untuned, ner=False).models.get(topic_id)
        return model is not None and any(p in model.terms for p in compile_phrase(term))

    async def set_threshold(self, topic_id: str, threshold: float, actor_id: int | None) -> None:
        change = self._validate(topic_id, Change("set_threshold", threshold=threshold))
        assert change.threshold is not None
        async with self._lock:
            await store.set_threshold(self.db, topic_id, change.threshold, actor_id)
            await self.load()

    async def add_example(
        self,
        topic_id: str,
        positive: bool,
        actor_id: int | None,
        item_id: int | None = None,
        text: str | None = None,
    ) -> None:
        """Teach the topic with a stored item or a pasted text (positive or negative)."""
        self._require(topic_id)
        if (item_id is None) == (text is None):
            raise TuningError("Give either an item or a text as the example.", "bad_example")
        body = await self._example_text(item_id, text)
        change = self._validate(topic_id, Change("add_example", positive=positive, text=body))
        assert change.text is not None
        async with self._lock:
            await store.add_example(self.db, topic_id, positive, change.text, item_id, actor_id)
            await self.load()

    async def add_topic(
        self,
        topic_id: str,
        names: dict[str, str],
        description: str,
        actor_id: int | None,
        threshold: float = 0.5,
    ) -> None:
        """A new topic; it catches nothing until terms or examples are added."""
        if not _TOPIC_ID.match(topic_id or ""):
            raise TuningError(
                "A topic id is 2-32 lower-case Latin letters, digits or _, starting with a "
                "letter (e.g. water).", "bad_topic_id",
            )
        if topic_id in self.classifier.models or any(
            t.id == topic_id for t in await store.all_topics(self.db)
        ):
            raise TuningError(f"Topic “{topic_id}” exists already.", "topic_exists",
                              topic=topic_id)
        clean = {k: " ".join(v.split()) for k, v in names.items() if k in LANGS and v.strip()}
        if not clean:
            raise TuningError("Give the topic a name (ru, kk or en).", "no_name")
        if not 0 < threshold < 1:
            raise TuningError("The threshold must be between 0 and 1.", "bad_threshold")
        topic = Topic(id=topic_id, names=clean, description=description.strip(),
                      threshold=threshold)
        async with self._lock:
            await store.add_topic(self.db, topic, actor_id)
            await self.load()

    # ------------------------------------------------------------------ preview, rescore

    async def preview(
        self,
        topic_id: str,
        days: int,
        change: Change | Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Preview:
        """What the topic catches among the last `days` of items, now and after `change`."""
        self._require(topic_id)
        since = (now or utcnow()) - timedelta(days=_days(days))
        candidate = self.classifier
        if change is not None:
            change = Change.of(change)
            if change.action == "add_example":
                text = await self._example_text(change.item_id, change.text)
                change = replace(change, text=text, item_id=None)
            valid = self._validate(topic_id, change)
            candidate = await self._build(self._applied(topic_id, valid))
        items = await store.items_since(self.db, since)
        before, after = await asyncio.to_thread(
            _caught, items, topic_id, self.classifier, candidate
        )
        gained_ids = {p.item_id for p in after} - {p.item_id for p in before}
        lost_ids = {p.item_id for p in before} - {p.item_id for p in after}
        return Preview(
            before=before,
            after=after,
            gained=[p for p in after if p.item_id in gained_ids],
            lost=[p for p in before if p.item_id in lost_ids],
        )

    async def rescore(self, days: int, now: datetime | None = None) -> int:
        """Re-score the items of the last `days` with the current classifier; returns how many."""
        since = (now or utcnow()) - timedelta(days=_days(days))
        items = await store.items_since(self.db, since)
        classifier = self.classifier
        for start in range(0, len(items), RESCORE_BATCH):
            chunk = items[start : start + RESCORE_BATCH]
            batch = await asyncio.to_thread(_scores, chunk, classifier)
            await store.replace_scores(self.db, batch)
        return len(items)


def _caught(
    items: Sequence[store.StoredItem], topic_id: str, before: Classifier, after: Classifier
) -> tuple[list[PreviewItem], list[PreviewItem]]:
    out: list[list[PreviewItem]] = []
    for classifier in (before, after):
        caught = []
        if topic_id in classifier.models:
            threshold = classifier.threshold(topic_id)
            for item in items:
                score = classifier.score(item.title, item.text, topic_id)
                if score >= threshold:
                    caught.append(PreviewItem(item.id, item.title, item.url, score))
        caught.sort(key=lambda p: (-p.score, p.item_id))
        out.append(caught)
    return out[0], out[1]


def _scores(items: Sequence[store.StoredItem], classifier: Classifier) -> list[store.ItemScores]:
    results = classifier.classify_many([(i.title, i.text, i.lang) for i in items])
    return [
        store.ItemScores(
            item.id,
            [
                (tid, result.scores[tid], result.on(tid), result.why.get(tid, []))
                for tid in classifier.topic_ids
            ],
            result.orgs,
            result.org_names,
        )
        for item, result in zip(items, results, strict=True)
    ]
