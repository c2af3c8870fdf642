"""Counts for /stats: items fetched and kept per outlet and topic, subscribers, deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from storage.chats import count_chats
from storage.db import Database
from storage.models import Item, ItemTopic, Outbox, Source

DIGEST_KINDS = ("digest", "manual")


@dataclass
class Stats:
    fetched_by_outlet: dict[str, int] = field(default_factory=dict)
    kept_by_outlet: dict[str, int] = field(default_factory=dict)
    kept_by_topic: dict[str, int] = field(default_factory=dict)
    subscribers: dict[str, int] = field(default_factory=dict)
    digests: dict[str, int] = field(default_factory=dict)  # status -> rows

    @property
    def fetched(self) -> int:
        return sum(self.fetched_by_outlet.values())

    @property
    def kept(self) -> int:
        return sum(self.kept_by_outlet.values())


async def collect(db: Database, since: datetime) -> Stats:
    """Everything since `since` (the admin's local midnight), subscribers as of now."""
    on_topic = (
        select(ItemTopic.item_id)
        .where(col(ItemTopic.on_topic).is_(True))
        .distinct()
    )
    async with db.session() as session:
        fetched = (await session.exec(
            select(Source.name, sa.func.count())
            .join(Item, col(Item.source_id) == col(Source.id))
            .where(col(Item.fetched_at) >= since).group_by(Source.name)
        )).all()
        kept = (await session.exec(
            select(Source.name, sa.func.count())
            .join(Item, col(Item.source_id) == col(Source.id))
            .where(col(Item.fetched_at) >= since, col(Item.id).in_(on_topic))
            .group_by(Source.name)
        )).all()
        by_topic = (await session.exec(
            select(ItemTopic.topic_id, sa.func.count())
            .join(Item, col(Item.id) == col(ItemTopic.item_id))
            .where(col(Item.fetched_at) >= since, col(ItemTopic.on_topic).is_(True))
            .group_by(ItemTopic.topic_id)
        )).all()
        digests = (await session.exec(
            select(Outbox.status, sa.func.count())
            .where(col(Outbox.kind).in_(DIGEST_KINDS), col(Outbox.created_at) >= since)
            .group_by(Outbox.status)
        )).all()
    return Stats(
        fetched_by_outlet=_sorted(fetched), kept_by_outlet=_sorted(kept),
        kept_by_topic=_sorted(by_topic), subscribers=await count_chats(db),
        digests=dict(digests),
    )


def _sorted(rows: object) -> dict[str, int]:
    return dict(sorted(((str(k), int(v)) for k, v in rows), key=lambda kv: (-kv[1], kv[0])))
