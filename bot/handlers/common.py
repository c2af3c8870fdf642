"""Helpers shared by the routers: who may change a chat's settings, the chat's row, the topic
catalogue, reading numbers and quoting input back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.types import Chat as TgChat
from aiogram.types import Message, User

from bot.config import Settings
from bot.html import esc
from storage.chats import open_chat
from storage.db import Database
from storage.digests import topic_names
from storage.models import Chat

MANAGERS = (ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR)
ECHO_CHARS = 100


def echo(text: object, limit: int = ECHO_CHARS) -> str:
    """What a user typed, quoted back in a reply: cut to `limit` characters ("…" marks the
    cut) so a long argument cannot push the reply past Telegram's 4096, then escaped."""
    text = str(text)
    return esc(text if len(text) <= limit else text[: limit - 1] + "…")


async def can_manage(bot: Bot, chat: TgChat, user: User | None) -> bool:
    """Private chats manage themselves; in a group only its admins; in a channel only its
    admins can post, so a channel post is always from one."""
    if chat.type == ChatType.PRIVATE or chat.type == ChatType.CHANNEL:
        return True
    if user is None:
        return False
    member = await bot.get_chat_member(chat.id, user.id)
    return member.status in MANAGERS


async def topic_catalog(db: Database, topic_service: Any) -> dict[str, dict[str, str]]:
    """Topic id -> names per language: the stored topics, else the classifier's."""
    async with db.session() as session:
        names = await topic_names(session)
    if names or topic_service is None:
        return names
    classifier = topic_service.classifier
    return {topic: classifier.names(topic) for topic in classifier.topic_ids}


def actor(message: Message) -> int | None:
    """Who sent a message (None for a channel post), for the audit of admin changes."""
    return message.from_user.id if message.from_user else None


async def this_chat(message: Message, db: Database, lang: str, settings: Settings,
                    now: datetime) -> Chat:
    """The row of the chat `message` came from, created (no digest) when the bot has none."""
    tg = message.chat
    return await open_chat(db, tg.id, type=tg.type, title=tg.title or tg.username, lang=lang,
                           tz=settings.tz, now=now)


def whole_number(text: str, max_digits: int = 9) -> int | None:
    """`text` as a non-negative whole number, else None. `isdecimal`, not `isdigit`: "²" and
    "①" are digits that int() refuses; the length cap keeps ids within the database's range."""
    text = text.strip()
    return int(text) if text.isdecimal() and len(text) <= max_digits else None


def label(names: dict[str, str], lang: str, fallback: str) -> str:
    return names.get(lang) or names.get("ru") or fallback
