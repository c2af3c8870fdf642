"""SQLModel tables: the whole schema. Changes go through Alembic migrations only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, so a naive value read from it is UTC by construction.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _json(default_factory: Any = list) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON, nullable=False)


# ---------------------------------------------------------------- outlets and items


class Source(SQLModel, table=True):
    """A news outlet's feed, seeded from `feeds/sources.toml` and managed by admins."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    url: str = Field(unique=True)
    lang: str = "ru"
    poll_interval: int = 900  # seconds
    enabled: bool = True
    confidence: str = "medium"
    etag: str | None = None
    last_modified: str | None = None
    next_poll_at: datetime | None = _ts(index=True)
    last_polled_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_error: str | None = None
    error_count: int = 0  # consecutive failures; 0 after a success
    total_errors: int = 0
    first_failure_at: datetime | None = _ts()  # start of the current failure streak
    failure_notified_at: datetime | None = _ts()
    items_total: int = 0
    added_by: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Item(SQLModel, table=True):
    """One news item. `guid_key` and `url_key` are unique: the same item is stored once."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    guid_key: str = Field(unique=True)  # "<source_id>:<guid>" (or of the link when no guid)
    url_key: str = Field(unique=True)  # canonical URL
    url: str
    title: str
    text: str = ""  # clean text of the lead / summary / full text as the feed gives it
    lang: str = Field(default="ru", index=True)
    published_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    content_hash: str = Field(index=True)
    near_key: str = ""  # signature for near-duplicate detection across outlets
    cluster_id: int | None = Field(default=None, index=True)  # id of the cluster's first item
    scored_at: datetime | None = _ts()


class ItemTopic(SQLModel, table=True):
    """A topic score of an item with the evidence behind it (every topic, on or off)."""

    __tablename__ = "item_topic"
    __table_args__ = (  # the on-topic items of a topic (search's topic: filter)
        sa.Index("ix_item_topic_on", "topic_id", "item_id",
                 sqlite_where=sa.text("on_topic"), postgresql_where=sa.text("on_topic")),
    )

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    topic_id: str = Field(primary_key=True, index=True)
    score: float = 0.0
    on_topic: bool = Field(default=False, index=True)
    why: list[Any] = _json()  # [[term, weight], ...]


class Organization(SQLModel, table=True):
    """A canonical organisation (ШОС = SCO = ШЫҰ is one row)."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # stable slug, e.g. "sco"
    name: str  # display name (Russian)
    names: dict[str, str] = _json(dict)  # {"ru": ..., "kk": ..., "en": ...}
    merged_into: int | None = Field(default=None, foreign_key="organization.id")


class OrgAlias(SQLModel, table=True):
    """A spelling of an organisation, normalised (lower-case, ё→е, folded whitespace)."""

    __tablename__ = "org_alias"

    alias: str = Field(primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    lang: str | None = None
    added_by: int | None = Field(default=None, sa_type=sa.BigInteger)


class ItemOrg(SQLModel, table=True):
    __tablename__ = "item_org"

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    org_id: int = Field(foreign_key="organization.id", primary_key=True, index=True)
    mentions: int = 1


# ---------------------------------------------------------------- topics and their tuning


class Topic(SQLModel, table=True):
    """A topic's tunable state; its definition starts in `seeds/topics.toml`."""

    id: str = Field(primary_key=True)
    names: dict[str, str] = _json(dict)
    description: str = ""
    threshold: float = 0.5
    enabled: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TopicRule(SQLModel, table=True):
    """An include or exclude term an admin added (weight > 0 includes, < 0 excludes)."""

    __tablename__ = "topic_rule"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: str = Field(foreign_key="topic.id", index=True)
    term: str
    weight: float
    added_by: int | None = Field(default=None, sa_type=sa.BigInteger)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TopicExample(SQLModel, table=True):
    """A positive or negative example given by an admin (a stored item or pasted text)."""

    __tablename__ = "topic_example"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: str = Field(foreign_key="topic.id", index=True)
    positive: bool
    item_id: int | None = Field(default=None, foreign_key="item.id", ondelete="SET NULL")
    text: str
    added_by: int | None = Field(default=None, sa_type=sa.BigInteger)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TopicChange(SQLModel, table=True):
    """Audit log: every tuning change, who made it and when."""

    __tablename__ = "topic_change"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: str = Field(index=True)
    action: str
    detail: dict[str, Any] = _json(dict)
    actor_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# ---------------------------------------------------------------- subscribers and delivery


class Chat(SQLModel, table=True):
    """A subscriber: a private chat, a group or a channel."""

    id: int = Field(sa_type=sa.BigInteger, primary_key=True)  # Telegram chat id
    type: str = "private"
    title: str | None = None
    lang: str = "ru"
    tz: str = "Asia/Almaty"
    digest_time: str = "09:00"  # local HH:MM
    frequency: str = "daily"  # daily | weekly | instant | off
    topics: list[str] = _json()  # empty means all topics
    active: bool = Field(default=True, index=True)  # false once blocked / kicked / not found
    inactive_reason: str | None = None
    last_digest_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Outbox(SQLModel, table=True):
    """A message to deliver, written before it is sent; (chat, kind, period) is unique."""

    __table_args__ = (sa.UniqueConstraint("chat_id", "kind", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=sa.BigInteger, foreign_key="chat.id", index=True)
    kind: str  # digest | alert | notice
    period: str  # e.g. "2026-11-25" for a daily digest, an item id for an alert
    item_ids: list[int] = _json()
    status: str = Field(default="pending", index=True)  # pending | sending | sent | failed
    attempts: int = 0
    not_before: datetime | None = _ts()
    claimed_at: datetime | None = _ts()
    claimed_by: str | None = None
    message_ids: list[int] = _json()
    parts: list[str] = _json()  # the rendered messages (HTML), fixed when the row is written
    parts_sent: int = 0
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = _ts()


class SentItem(SQLModel, table=True):
    """Which items a chat has been sent, so nothing is sent to it twice."""

    __tablename__ = "sent_item"

    chat_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
