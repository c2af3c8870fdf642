"""Subscribers: private chats, groups and channels, and their digest settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from storage.db import Database
from storage.models import Chat


async def get_chat(db: Database, chat_id: int) -> Chat | None:
    async with db.session() as session:
        return await session.get(Chat, chat_id)


async def chat_lang(db: Database, chat_id: int) -> str | None:
    """The language stored for a chat, or None when the chat is not known yet."""
    async with db.session() as session:
        result = await session.exec(select(Chat.lang).where(Chat.id == chat_id))
        return result.first()


async def subscribe(
    db: Database,
    chat_id: int,
    *,
    type: str,
    title: str | None,
    lang: str,
    now: datetime,
    tz: str | None = None,
) -> tuple[Chat, bool]:
    """Create the chat (daily digest of all topics, in time zone `tz` — the bot's configured
    one — else the model's default) or re-activate it; returns (chat, new).

    A chat that had turned `off` goes back to daily; its other settings are kept.
    """
    async with db.session() as session:
        chat = await session.get(Chat, chat_id)
        new = chat is None
        if chat is None:
            chat = Chat(id=chat_id, type=type, title=title, lang=lang, created_at=now,
                        **({"tz": tz} if tz else {}))
        else:
            chat.type, chat.title = type, title or chat.title
            if chat.frequency == "off":
                chat.frequency = "daily"
        chat.active, chat.inactive_reason = True, None
        session.add(chat)
        await session.commit()
        return chat, new


async def open_chat(
    db: Database, chat_id: int, *, type: str, title: str | None, lang: str, tz: str,
    now: datetime,
) -> Chat:
    """The chat's row; one never seen is created without a digest (`off`) so its settings can
    be stored: only /start or /subscribe (`subscribe`) sign a chat up."""
    async with db.session() as session:
        chat = await session.get(Chat, chat_id)
        if chat is None:
            chat = Chat(id=chat_id, type=type, title=title, lang=lang, tz=tz, frequency="off",
                        created_at=now)
            session.add(chat)
            await session.commit()
        return chat


async def update_chat(db: Database, chat_id: int, **fields: Any) -> Chat | None:
    """Set some fields of a known chat; returns the updated chat (None if unknown)."""
    async with db.session() as session:
        chat = await session.get(Chat, chat_id)
        if chat is None:
            return None
        for name, value in fields.items():
            setattr(chat, name, value)
        session.add(chat)
        await session.commit()
        return chat


async def toggle_topic(
    db: Database, chat_id: int, topic_id: str, all_topics: Sequence[str]
) -> Chat | None:
    """Switch one topic on or off for a chat (an empty list means every topic, so the last
    chosen topic stays: the chat is returned unchanged)."""
    chat = await get_chat(db, chat_id)
    if chat is None:
        return None
    chosen = set(chat.topics or all_topics)
    chosen ^= {topic_id}
    if not chosen:
        return chat
    topics = [] if chosen >= set(all_topics) else [t for t in all_topics if t in chosen]
    return await update_chat(db, chat_id, topics=topics)


async def deactivate(db: Database, chat_id: int, reason: str) -> None:
    """Stop sending to a chat that blocked the bot, removed it, or no longer exists."""
    async with db.session() as session:
        await session.exec(
            sa.update(Chat)
            .where(col(Chat.id) == chat_id)
            .values(active=False, inactive_reason=reason)
        )
        await session.commit()


async def active_chats(db: Database, frequencies: Sequence[str]) -> list[Chat]:
    async with db.session() as session:
        result = await session.exec(
            select(Chat).where(col(Chat.active).is_(True), col(Chat.frequency).in_(frequencies))
        )
        return list(result.all())


async def count_chats(db: Database) -> dict[str, int]:
    """Subscribers by state: active (not off), off, inactive (blocked / gone)."""
    async with db.session() as session:
        rows = (await session.exec(select(Chat.active, Chat.frequency, sa.func.count()).group_by(
            Chat.active, Chat.frequency))).all()
    counts = {"active": 0, "off": 0, "inactive": 0}
    for active, frequency, n in rows:
        key = "inactive" if not active else "off" if frequency == "off" else "active"
        counts[key] += n
    return counts


async def ensure_chat(db: Database, chat_id: int, now: datetime) -> None:
    """Make sure a chat row exists (an admin's private chat for notices); a new one gets no
    digest (`off`) until it subscribes."""
    async with db.session() as session:
        if await session.get(Chat, chat_id) is None:
            session.add(Chat(id=chat_id, frequency="off", created_at=now))
            await session.commit()
