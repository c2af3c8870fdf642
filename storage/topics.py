"""Queries behind topic tuning: topics, rules, examples, the change log, stored scores.

No business rules here (validation and model building live in `topics.service`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.models import (
    Item,
    ItemOrg,
    ItemTopic,
    Topic,
    TopicChange,
    TopicExample,
    TopicRule,
    utcnow,
)
from storage.orgs import org_ids
from storage.search import refresh_tags


@dataclass(frozen=True)
class StoredItem:
    id: int
    title: str
    text: str
    lang: str
    url: str


@dataclass(frozen=True)
class ItemScores:
    """New scores of one stored item: (topic, score, on_topic, why) rows and org mentions."""

    item_id: int
    topics: Sequence[tuple[str, float, bool, list[tuple[str, float]]]]
    orgs: Mapping[str, int]
    org_names: Mapping[str, str]  # org key -> display name, for organisations new to the store


async def ensure_topics(db: Database, topics: Iterable[Topic]) -> None:
    """Create the rows of topics that have none yet (existing rows keep their tuning)."""
    async with db.session() as session, session.begin():
        existing = set((await session.exec(select(Topic.id))).all())
        for topic in topics:
            if topic.id not in existing:
                session.add(topic)


async def all_topics(db: Database) -> list[Topic]:
    async with db.session() as session:
        return list((await session.exec(select(Topic).order_by(Topic.id))).all())


async def rules(db: Database) -> list[TopicRule]:
    async with db.session() as session:
        statement = select(TopicRule).order_by(TopicRule.topic_id, TopicRule.id)
        return list((await session.exec(statement)).all())


async def examples(db: Database) -> list[TopicExample]:
    async with db.session() as session:
        statement = select(TopicExample).order_by(TopicExample.topic_id, TopicExample.id)
        return list((await session.exec(statement)).all())


async def changes(db: Database, topic_id: str | None = None, limit: int = 50) -> list[TopicChange]:
    """The change log, newest first."""
    statement = select(TopicChange).order_by(TopicChange.id.desc()).limit(limit)
    if topic_id is not None:
        statement = statement.where(TopicChange.topic_id == topic_id)
    async with db.session() as session:
        return list((await session.exec(statement)).all())


async def tuned_thresholds(db: Database) -> set[str]:
    """Topics whose threshold an admin has set (the others follow topics.toml)."""
    statement = select(TopicChange.topic_id).where(TopicChange.action == "set_threshold")
    async with db.session() as session:
        return set((await session.exec(statement.distinct())).all())


def log_change(
    session: AsyncSession, topic_id: str, action: str, detail: dict[str, Any], actor: int | None
) -> None:
    session.add(TopicChange(topic_id=topic_id, action=action, detail=detail, actor_id=actor))


async def set_rule(
    db: Database, topic_id: str, term: str, weight: float, actor: int | None, action: str
) -> None:
    """Insert or update the rule for `term` (weight 0 marks a removed lexicon term)."""
    async with db.session() as session, session.begin():
        statement = select(TopicRule).where(
            TopicRule.topic_id == topic_id, TopicRule.term == term
        )
        rule = (await session.exec(statement)).first()
        if rule is None:
            session.add(TopicRule(topic_id=topic_id, term=term, weight=weight, added_by=actor))
        else:
            rule.weight, rule.added_by, rule.added_at = weight, actor, utcnow()
        log_change(session, topic_id, action, {"term": term, "weight": weight}, actor)


async def delete_rule(db: Database, topic_id: str, term: str, actor: int | None) -> None:
    async with db.session() as session, session.begin():
        await session.exec(
            sa.delete(TopicRule).where(TopicRule.topic_id == topic_id, TopicRule.term == term)
        )
        log_change(session, topic_id, "remove_term", {"term": term}, actor)


async def set_threshold(db: Database, topic_id: str, threshold: float, actor: int | None) -> None:
    async with db.session() as session, session.begin():
        topic = await session.get(Topic, topic_id)
        assert topic is not None
        old = topic.threshold
        topic.threshold, topic.updated_at = threshold, utcnow()
        log_change(session, topic_id, "set_threshold", {"from": old, "threshold": threshold}, actor)


async def add_example(
    db: Database, topic_id: str, positive: bool, text: str, item_id: int | None,
    actor: int | None,
) -> None:
    async with db.session() as session, session.begin():
        session.add(TopicExample(
            topic_id=topic_id, positive=positive, item_id=item_id, text=text, added_by=actor
        ))
        detail = {"positive": positive, "item_id": item_id, "chars": len(text)}
        log_change(session, topic_id, "add_example", detail, actor)


async def add_topic(db: Database, topic: Topic, actor: int | None) -> None:
    async with db.session() as session, session.begin():
        session.add(topic)
        detail = {"names": topic.names, "description": topic.description}
        log_change(session, topic.id, "add_topic", detail, actor)


async def get_item(db: Database, item_id: int) -> StoredItem | None:
    async with db.session() as session:
        item = await session.get(Item, item_id)
        if item is None or item.id is None:
            return None
        return StoredItem(item.id, item.title, item.text, item.lang, item.url)


async def items_since(db: Database, since: datetime) -> list[StoredItem]:
    """Items published since `since`, oldest first."""
    statement = (
        select(Item.id, Item.title, Item.text, Item.lang, Item.url)
        .where(Item.published_at >= since)
        .order_by(Item.published_at, Item.id)
    )
    async with db.session() as session:
        rows = (await session.exec(statement)).all()
    return [StoredItem(*row) for row in rows]


async def topic_hits(db: Database, topic_id: str, since: datetime) -> int:
    """Items on the topic published since `since`."""
    statement = (
        select(sa.func.count())
        .select_from(ItemTopic)
        .join(Item, Item.id == ItemTopic.item_id)
        .where(ItemTopic.topic_id == topic_id, ItemTopic.on_topic, Item.published_at >= since)
    )
    async with db.session() as session:
        return int((await session.exec(statement)).one())


async def replace_scores(db: Database, batch: Sequence[ItemScores]) -> None:
    """Replace the stored topic scores and organisation mentions of items, in one transaction."""
    if not batch:
        return
    ids = [entry.item_id for entry in batch]
    async with db.session() as session, session.begin():
        was_on = {(item_id, topic_id) for item_id, topic_id in await session.exec(
            sa.select(ItemTopic.item_id, ItemTopic.topic_id)
            .where(ItemTopic.item_id.in_(ids), ItemTopic.on_topic)
        )}
        await session.exec(sa.delete(ItemTopic).where(ItemTopic.item_id.in_(ids)))
        await session.exec(sa.delete(ItemOrg).where(ItemOrg.item_id.in_(ids)))
        names = {k: v for entry in batch for k, v in entry.org_names.items()}
        keys = await org_ids(session, {key for entry in batch for key in entry.orgs}, names)
        topic_rows = [
            {"item_id": e.item_id, "topic_id": tid, "score": score, "on_topic": on,
             "why": [list(pair) for pair in why]}
            for e in batch
            for tid, score, on, why in e.topics
        ]
        org_rows: dict[tuple[int, int], int] = {}
        for entry in batch:
            for key, count in entry.orgs.items():
                pair = (entry.item_id, keys[key])
                org_rows[pair] = org_rows.get(pair, 0) + count
        if topic_rows:
            await session.exec(sa.insert(ItemTopic), params=topic_rows)
        if org_rows:
            await session.exec(sa.insert(ItemOrg), params=[
                {"item_id": item_id, "org_id": org_id, "mentions": count}
                for (item_id, org_id), count in org_rows.items()
            ])
        await session.exec(sa.update(Item).where(Item.id.in_(ids)).values(scored_at=utcnow()))
        # the index row is rewritten only where the topics an item is on changed
        now_on = {(e.item_id, tid) for e in batch for tid, _, on, _ in e.topics if on}
        await refresh_tags(session, {item_id for item_id, _ in was_on ^ now_on})
