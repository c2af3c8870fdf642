"""Admin outlet management: list with status, add by URL (validated), pause, resume, remove."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.filters import IsAdmin
from bot.handlers.common import actor, echo, whole_number
from bot.html import esc
from bot.i18n import t
from feeds import SourceError, add_source, list_sources, remove_source, set_source_enabled
from storage.db import Database
from storage.models import Source

router = Router(name="admin-sources")
router.message.filter(IsAdmin())


def _ago(moment: datetime | None, now: datetime, lang: str) -> str:
    if moment is None:
        return t("sources.never", lang)
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 60:
        return t("sources.minutes_ago", lang, n=max(minutes, 0))
    if minutes < 48 * 60:
        return t("sources.hours_ago", lang, n=minutes // 60)
    return t("sources.days_ago", lang, n=minutes // 1440)


def source_line(source: Source, now: datetime, lang: str) -> str:
    if not source.enabled:
        state = "⏸"
    elif source.error_count:
        state = "⚠️"
    else:
        state = "✅"
    line = t("sources.line", lang, state=state, id=source.id, name=esc(source.name),
             ok=_ago(source.last_success_at, now, lang), errors=source.error_count,
             next=f"{source.next_poll_at:%H:%M} UTC" if source.next_poll_at else "—")
    if source.error_count and source.last_error:
        line += "\n    " + esc(source.last_error[:120])
    return line


@router.message(Command("sources"))
async def sources(message: Message, db: Database, lang: str,
                  clock: Callable[[], datetime]) -> None:
    rows = await list_sources(db)
    if not rows:
        await message.answer(t("sources.none", lang))
        return
    now = clock()
    lines = [t("sources.header", lang, count=len(rows))]
    lines += [source_line(source, now, lang) for source in rows]
    await _answer_long(message, lines)


@router.message(Command("source_add"))
async def source_add(message: Message, command: CommandObject, db: Database, fetcher: Any,
                     settings: Settings, lang: str) -> None:
    words = (command.args or "").split(maxsplit=1)
    if not words:
        await message.answer(t("sources.add_usage", lang))
        return
    url, name = words[0], (words[1] if len(words) > 1 else None)
    try:
        source = await add_source(db, fetcher, url, name=name, added_by=actor(message),
                                  allow_private=settings.allow_private_feed_urls)
    except SourceError as error:
        await message.answer(t("sources.add_refused", lang, url=echo(url), reason=echo(error, 300)))
        return
    await message.answer(t("sources.added", lang, id=source.id, name=esc(source.name),
                           lang_code=esc(source.lang)))


@router.message(Command("source_pause", "source_resume"))
async def source_toggle(message: Message, command: CommandObject, db: Database,
                        lang: str) -> None:
    source_id = _source_id(command)
    if source_id is None:
        await message.answer(t("sources.id_usage", lang, command=command.command))
        return
    enabled = command.command == "source_resume"
    source = await set_source_enabled(db, source_id, enabled)
    if source is None:
        await message.answer(t("sources.unknown", lang, id=source_id))
        return
    key = "sources.resumed" if enabled else "sources.paused"
    await message.answer(t(key, lang, id=source_id, name=esc(source.name)))


@router.message(Command("source_remove"))
async def source_remove(message: Message, command: CommandObject, db: Database,
                        lang: str) -> None:
    source_id = _source_id(command)
    if source_id is None:
        await message.answer(t("sources.id_usage", lang, command=command.command))
        return
    if not await remove_source(db, source_id):
        await message.answer(t("sources.unknown", lang, id=source_id))
        return
    await message.answer(t("sources.removed", lang, id=source_id))


def _source_id(command: CommandObject) -> int | None:
    return whole_number((command.args or "").strip().lstrip("#"))


async def _answer_long(message: Message, lines: list[str], limit: int = 4000) -> None:
    """Send lines in as few messages as fit Telegram's limit."""
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > limit:
            await message.answer("\n".join(chunk))
            chunk = []
        chunk.append(line)
    if chunk:
        await message.answer("\n".join(chunk))
