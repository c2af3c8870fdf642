"""/search <query>: five results a page with ◀ ▶ buttons that edit the message in place.

The query is not kept anywhere: the message's first line echoes it (`🔎 query`) and a page
button reads it back from there, so paging survives restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.handlers.common import label, topic_catalog
from bot.html import esc, link
from bot.i18n import t
from storage.chats import get_chat
from storage.db import Database
from storage.search import Hit, SearchPage, search

router = Router(name="search")

PER_PAGE = 5
ECHO_CHARS = 300  # the part of a query echoed (and read back for paging)
QUERY_MARK = "🔎 "


class SearchCb(CallbackData, prefix="srch"):
    page: int


async def chat_tz(db: Database, chat_id: int, settings: Settings) -> str:
    chat = await get_chat(db, chat_id)
    return chat.tz if chat is not None else settings.tz


def render_hits(
    hits: list[Hit], first_number: int, lang: str, tz: str,
    catalog: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """Numbered hits: linked title, then outlet · local date · topic badges."""
    zone = ZoneInfo(tz)
    lines = []
    for number, hit in enumerate(hits, start=first_number):
        badges = " ".join(
            f"#{esc(label(dict(catalog.get(topic, {})), lang, topic))}" for topic in hit.topics
        )
        meta = f"{esc(hit.source)} · {hit.published_at.astimezone(zone):%d.%m.%Y}"
        tail = f" · {badges}" if badges else ""
        lines.append(f"{number}. {link(hit.url, hit.title)}\n    {meta}{tail}")
    return lines


def pager(
    page: int, pages: int, make: Callable[[int], CallbackData]
) -> InlineKeyboardMarkup | None:
    """◀ and ▶ buttons around the page number (page 0: a button that does nothing), or none
    when everything fits one page."""
    if pages <= 1:
        return None
    kb = InlineKeyboardBuilder()
    if page > 1:
        kb.button(text="◀", callback_data=make(page - 1))
    kb.button(text=f"{page}/{pages}", callback_data=make(0))
    if page < pages:
        kb.button(text="▶", callback_data=make(page + 1))
    return kb.as_markup()


async def search_answer(
    db: Database, query: str, page: int, *, lang: str, tz: str, now: datetime, topic_service: Any,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of one page of results for `query`."""
    result: SearchPage = await search(db, query, page=page, per_page=PER_PAGE, now=now)
    echo = query if len(query) <= ECHO_CHARS else query[:ECHO_CHARS] + "…"
    lines = [f"{QUERY_MARK}{esc(echo)}"]
    if result.query_hint:
        lines.append(t(f"search.hint.{result.query_hint}", lang))
    if not result.hits:
        lines.append(t("search.nothing" if result.total == 0 else "search.page_empty", lang))
        return "\n".join(lines), None
    pages = result.total_pages(PER_PAGE)
    page = min(page, pages)
    lines.append(t("search.found", lang, total=result.total_text, page=page, pages=pages))
    catalog = await topic_catalog(db, topic_service)
    lines += render_hits(result.hits, (page - 1) * PER_PAGE + 1, lang, tz, catalog)
    return "\n".join(lines), pager(page, pages, lambda n: SearchCb(page=n))


@router.message(Command("search"))
async def search_command(
    message: Message, command: CommandObject, db: Database, settings: Settings, lang: str,
    clock: Callable[[], datetime], topic_service: Any = None,
) -> None:
    query = (command.args or "").strip()
    if not query:
        await message.answer(t("search.usage", lang))
        return
    tz = await chat_tz(db, message.chat.id, settings)
    text, markup = await search_answer(db, query, 1, lang=lang, tz=tz, now=clock(),
                                       topic_service=topic_service)
    await message.answer(text, reply_markup=markup)


@router.callback_query(SearchCb.filter())
async def search_page(
    callback: CallbackQuery, callback_data: SearchCb, db: Database, settings: Settings, lang: str,
    clock: Callable[[], datetime], topic_service: Any = None,
) -> None:
    message = callback.message
    if callback_data.page == 0:
        await callback.answer()
        return
    first_line = (message.text or "").split("\n", 1)[0] if isinstance(message, Message) else ""
    if not first_line.startswith(QUERY_MARK):
        await callback.answer(t("search.expired", lang))
        return
    query = first_line.removeprefix(QUERY_MARK).removesuffix("…")
    tz = await chat_tz(db, message.chat.id, settings)
    text, markup = await search_answer(db, query, callback_data.page, lang=lang, tz=tz,
                                       now=clock(), topic_service=topic_service)
    await edit_page(callback, text, markup, lang)


async def edit_page(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None, lang: str
) -> None:
    """Show another page in the same message (an unchanged page is not an error)."""
    try:
        await callback.message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]
    except TelegramBadRequest as error:
        if "not modified" not in str(error):
            await callback.answer(t("search.expired", lang))
            return
    await callback.answer()
