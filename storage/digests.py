"""Queries behind a digest: on-topic items a chat has not been sent, one per story."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Item, ItemTopic, SentItem, Source, Topic


@dataclass
class DigestEntry:
    """One story in a digest: its best item, the topic it is listed under, and the other
    outlets that reported it (`also`); `item_ids` are all the cluster's items in the digest."""

    item_id: int
    title: str
    url: str
    outlet: str
    published_at: datetime
    topic_id: str
    score: float
    also: list[str] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)


async def digest_entries(
    session: AsyncSession,
    *,
    chat_id: int | None,
    topics: Sequence[str],
    since: datetime,
    until: datetime,
    min_score: float = 0.0,
) -> list[DigestEntry]:
    """Stories fetched in (since, until] that are on one of `topics` (all if empty), none of
    whose items the chat was sent, best score first."""
    query = (
        select(Item.id, Item.title, Item.url, Item.published_at, Item.cluster_id,
               col(Source.name).label("outlet"), ItemTopic.topic_id, ItemTopic.score)
        .join(Source, col(Source.id) == col(Item.source_id))
        .join(ItemTopic, col(ItemTopic.item_id) == col(Item.id))
        .where(col(ItemTopic.on_topic).is_(True), col(ItemTopic.score) >= min_score)
        .where(col(Item.fetched_at) > since, col(Item.fetched_at) <= until)
    )
    if topics:
        query = query.where(col(ItemTopic.topic_id).in_(list(topics)))
    if chat_id is not None:
        sent = select(SentItem.item_id).where(SentItem.chat_id == chat_id)
        query = query.where(col(Item.id).not_in(sent))
    rows = (await session.exec(query)).all()

    best: dict[int, Any] = {}  # item id -> its row under its best-scoring topic
    for row in rows:
        if row.id not in best or row.score > best[row.id].score:
            best[row.id] = row
    clusters: dict[int, list[Any]] = {}
    for row in best.values():
        clusters.setdefault(row.cluster_id or row.id, []).append(row)
    if chat_id is not None:
        for cluster_id in await _clusters_sent(session, chat_id, list(clusters)):
            clusters.pop(cluster_id, None)

    entries = []
    for members in clusters.values():
        members.sort(key=lambda r: (-r.score, r.published_at, r.id))
        lead = members[0]
        also = list(dict.fromkeys(r.outlet for r in members[1:] if r.outlet != lead.outlet))
        entries.append(DigestEntry(
            item_id=lead.id, title=lead.title, url=lead.url, outlet=lead.outlet,
            published_at=lead.published_at, topic_id=lead.topic_id, score=lead.score,
            also=also, item_ids=[r.id for r in members],
        ))
    entries.sort(key=lambda e: (-e.score, -e.published_at.timestamp(), e.item_id))
    return entries


async def _clusters_sent(session: AsyncSession, chat_id: int, cluster_ids: list[int]) -> set[int]:
    """Clusters of which the chat already got an item (a story appears once)."""
    if not cluster_ids:
        return set()
    query = (
        select(Item.cluster_id)
        .join(SentItem, col(SentItem.item_id) == col(Item.id))
        .where(SentItem.chat_id == chat_id, col(Item.cluster_id).in_(cluster_ids))
    )
    return {c for c in (await session.exec(query)).all() if c is not None}


async def topic_names(session: AsyncSession) -> dict[str, dict[str, str]]:
    """Display names of the topics, per language, in a stable order."""
    rows = (await session.exec(select(Topic).order_by(col(Topic.id)))).all()
    return {topic.id: topic.names for topic in rows if topic.enabled}


async def topic_descriptions(session: AsyncSession) -> dict[str, str]:
    rows = (await session.exec(select(Topic.id, Topic.description))).all()
    return {topic_id: description for topic_id, description in rows}


async def latest_entries(
    session: AsyncSession, *, topics: Sequence[str], limit: int, until: datetime
) -> list[DigestEntry]:
    """The newest on-topic items (for `/latest`), newest first."""
    query = (
        select(Item.id, Item.title, Item.url, Item.published_at, Source.name,
               ItemTopic.topic_id, ItemTopic.score)
        .join(Source, col(Source.id) == col(Item.source_id))
        .join(ItemTopic, col(ItemTopic.item_id) == col(Item.id))
        .where(col(ItemTopic.on_topic).is_(True), col(Item.published_at) <= until)
        .order_by(col(Item.published_at).desc(), sa.desc(col(ItemTopic.score)))
        .limit(limit * 3)
    )
    if topics:
        query = query.where(col(ItemTopic.topic_id).in_(list(topics)))
    entries: dict[int, DigestEntry] = {}
    for item_id, title, url, published, outlet, topic_id, score in (await session.exec(query)):
        if item_id not in entries:
            entries[item_id] = DigestEntry(item_id, title, url, outlet, published, topic_id,
                                           score, item_ids=[item_id])
    return list(entries.values())[:limit]
