"""/stats for admins: today's items fetched and kept per topic and outlet, subscribers,
digests sent and failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import Settings
from bot.filters import IsAdmin
from bot.handlers.common import label, topic_catalog
from bot.html import esc
from bot.i18n import t
from storage.db import Database
from storage.stats import collect

router = Router(name="stats")
router.message.filter(IsAdmin())

TOP_OUTLETS = 15


@router.message(Command("stats"))
async def stats(message: Message, db: Database, lang: str, settings: Settings,
                topic_service: Any, clock: Callable[[], datetime]) -> None:
    zone = ZoneInfo(settings.tz)
    now = clock()
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    figures = await collect(db, midnight)
    catalog = await topic_catalog(db, topic_service)
    lines = [t("stats.header", lang, date=f"{midnight:%d.%m.%Y}", tz=esc(settings.tz)),
             t("stats.items", lang, fetched=figures.fetched, kept=figures.kept)]
    if figures.kept_by_topic:
        lines.append(t("stats.by_topic", lang))
        lines += [f"• {esc(label(catalog.get(tid, {}), lang, tid))}: {n}"
                  for tid, n in figures.kept_by_topic.items()]
    if figures.fetched_by_outlet:
        lines.append(t("stats.by_outlet", lang))
        lines += [f"• {esc(name)}: {figures.kept_by_outlet.get(name, 0)} / {n}"
                  for name, n in list(figures.fetched_by_outlet.items())[:TOP_OUTLETS]]
    subs = figures.subscribers
    lines.append(t("stats.subscribers", lang, active=subs.get("active", 0),
                   off=subs.get("off", 0), inactive=subs.get("inactive", 0)))
    digests = figures.digests
    lines.append(t("stats.digests", lang, sent=digests.get("sent", 0),
                   failed=digests.get("failed", 0),
                   pending=digests.get("pending", 0) + digests.get("sending", 0),
                   empty=digests.get("empty", 0)))
    await message.answer("\n".join(lines))
