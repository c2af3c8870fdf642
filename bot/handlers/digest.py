"""/digest (send mine now), /latest [topic], /topics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.delivery import Deliverer
from bot.digest.build import MAX_LOOKBACK, plan_digest, since_text
from bot.digest.render import local_time
from bot.handlers.common import can_manage, echo, label, this_chat, topic_catalog
from bot.handlers.search import chat_tz
from bot.html import esc, link
from bot.i18n import t
from storage.db import Database
from storage.digests import latest_entries, topic_descriptions

router = Router(name="digest")

LATEST_COUNT = 10


@router.message(Command("digest"))
async def digest_now(message: Message, bot: Bot, db: Database, lang: str, deliverer: Deliverer,
                     settings: Settings, clock: Callable[[], datetime]) -> None:
    """Plan a `manual` outbox row with whatever is new and deliver it at once."""
    if not await can_manage(bot, message.chat, message.from_user):
        await message.answer(t("common.group_admins_only", lang))
        return
    now = clock()
    chat = await this_chat(message, db, lang, settings, now)
    since = max(chat.last_digest_at or now - timedelta(days=1), now - MAX_LOOKBACK)
    row = await plan_digest(db, chat, kind="manual", period=now.isoformat(), since=since, now=now)
    if row is None or not row.parts:
        await message.answer(t("digest.nothing_new", chat.lang, since=since_text(since, chat.tz)))
        return
    assert row.id is not None
    await deliverer.deliver_rows([row.id])


@router.message(Command("latest"))
async def latest(message: Message, command: CommandObject, db: Database, lang: str,
                 settings: Settings, topic_service: Any, clock: Callable[[], datetime]) -> None:
    catalog = await topic_catalog(db, topic_service)
    wanted = (command.args or "").strip().lower()
    topics: list[str] = []
    if wanted:
        topics = [tid for tid, names in catalog.items()
                  if wanted == tid or wanted in (n.lower() for n in names.values())]
        if not topics:
            await message.answer(t("digest.unknown_topic", lang, topic=echo(wanted),
                                   topics=", ".join(esc(tid) for tid in catalog)))
            return
    now = clock()
    tz = await chat_tz(db, message.chat.id, settings)
    async with db.session() as session:
        entries = await latest_entries(session, topics=topics, limit=LATEST_COUNT, until=now)
    if not entries:
        await message.answer(t("digest.latest_empty", lang))
        return
    lines = [t("digest.latest_header", lang)]
    for i, entry in enumerate(entries, start=1):
        topic = label(catalog.get(entry.topic_id, {}), lang, entry.topic_id)
        lines.append(f"{i}. {link(entry.url, entry.title)} — {esc(entry.outlet)}, "
                     f"{local_time(entry.published_at, tz, now)} · {esc(topic)}")
    await message.answer("\n".join(lines))


@router.message(Command("topics"))
async def topics(message: Message, db: Database, lang: str, topic_service: Any) -> None:
    catalog = await topic_catalog(db, topic_service)
    async with db.session() as session:
        descriptions = await topic_descriptions(session)
    lines = [t("digest.topics_header", lang)]
    for tid, names in catalog.items():
        about = descriptions.get(tid, "")
        line = f"• <b>{esc(label(names, lang, tid))}</b> (<code>{esc(tid)}</code>)"
        lines.append(f"{line}: {esc(about)}" if about else line)
    await message.answer("\n".join(lines))

