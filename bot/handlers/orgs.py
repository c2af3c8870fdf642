"""/org: organisations in the news. No argument: the most mentioned of the week as buttons;
/org <name>: fuzzy match (choice buttons when ambiguous), then the latest items, paged, and
mentions per week. Admins: /org_alias, /org_merge, /org_add."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.filters import IsAdmin
from bot.handlers.common import actor, echo, topic_catalog
from bot.handlers.search import PER_PAGE, chat_tz, edit_page, pager, render_hits
from bot.html import esc
from bot.i18n import t
from storage.db import Database
from storage.orgs import (
    OrgError,
    OrgMatch,
    add_alias,
    add_org,
    get_org,
    merge,
    org_items,
    resolve,
    top_orgs,
    weekly_counts,
)

router = Router(name="orgs")

TOP_DAYS = 7
TOP_COUNT = 10
WEEKS = 8
BARS = "▁▂▃▄▅▆▇█"


class OrgCb(CallbackData, prefix="org"):
    org_id: int
    page: int = 1


def sparkline(counts: Sequence[int]) -> str:
    """Counts as block characters scaled to the largest (an empty week is the lowest bar)."""
    top = max(counts, default=0) or 1
    return "".join(BARS[round(n / top * (len(BARS) - 1))] for n in counts)


async def org_answer(
    db: Database, org: OrgMatch, page: int, *, lang: str, tz: str, now: datetime,
    topic_service: Any,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """An organisation's card: weekly mentions, then one page of its latest items."""
    items = await org_items(db, org.org_id, page=page, per_page=PER_PAGE)
    counts = await weekly_counts(db, org.org_id, weeks=WEEKS, now=now)
    lines = [
        f"🏢 <b>{esc(org.label(lang))}</b>",
        t("org.weekly", lang, weeks=WEEKS, bars=sparkline(counts),
          counts=" ".join(map(str, counts)), total=items.total),
    ]
    if not items.hits:
        lines.append(t("org.no_items", lang))
        return "\n".join(lines), None
    pages = items.total_pages(PER_PAGE)
    lines.append(t("org.latest", lang, page=min(page, pages), pages=pages))
    catalog = await topic_catalog(db, topic_service)
    lines += render_hits(items.hits, (page - 1) * PER_PAGE + 1, lang, tz, catalog)
    return "\n".join(lines), pager(page, pages, lambda n: OrgCb(org_id=org.org_id, page=n))


def org_buttons(orgs: Sequence[tuple[OrgMatch, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for org, text in orgs:
        kb.button(text=text, callback_data=OrgCb(org_id=org.org_id))
    kb.adjust(1)
    return kb.as_markup()


@router.message(Command("org"))
async def org_command(
    message: Message, command: CommandObject, db: Database, settings: Settings, lang: str,
    clock: Callable[[], datetime], topic_service: Any = None,
) -> None:
    name = (command.args or "").strip()
    if not name:
        top = await top_orgs(db, days=TOP_DAYS, now=clock(), limit=TOP_COUNT)
        if not top:
            await message.answer(t("org.top_empty", lang, days=TOP_DAYS))
            return
        buttons = [(row.org, f"{row.org.label(lang)} · {row.count}") for row in top]
        await message.answer(t("org.top", lang, days=TOP_DAYS), reply_markup=org_buttons(buttons))
        return
    async with db.session() as session:
        matches = await resolve(session, name)
    if not matches:
        await message.answer(t("org.not_found", lang, name=echo(name)))
        return
    if len(matches) > 1:
        buttons = [(org, org.label(lang)) for org in matches]
        await message.answer(t("org.choose", lang, name=echo(name)),
                             reply_markup=org_buttons(buttons))
        return
    tz = await chat_tz(db, message.chat.id, settings)
    text, markup = await org_answer(db, matches[0], 1, lang=lang, tz=tz, now=clock(),
                                    topic_service=topic_service)
    await message.answer(text, reply_markup=markup)


@router.callback_query(OrgCb.filter())
async def org_pressed(
    callback: CallbackQuery, callback_data: OrgCb, db: Database, settings: Settings, lang: str,
    clock: Callable[[], datetime], topic_service: Any = None,
) -> None:
    """A choice or page button: show the organisation's card (page) in the same message."""
    if callback_data.page == 0:
        await callback.answer()
        return
    async with db.session() as session:
        org = await get_org(session, callback_data.org_id)
    if org is None or not isinstance(callback.message, Message):
        await callback.answer(t("search.expired", lang))
        return
    tz = await chat_tz(db, callback.message.chat.id, settings)
    text, markup = await org_answer(db, org, callback_data.page, lang=lang, tz=tz, now=clock(),
                                    topic_service=topic_service)
    await edit_page(callback, text, markup, lang)


# ---------------------------------------------------------------- admin


def split_pair(args: str) -> tuple[str, str] | None:
    """`left = right`, or the first word and the rest when there is no `=`."""
    left, sep, right = args.partition("=")
    if not sep:
        left, _, right = args.strip().partition(" ")
    left, right = left.strip(), right.strip()
    return (left, right) if left and right else None


async def find_one(db: Database, name: str, lang: str) -> OrgMatch | str:
    """The single organisation `name` means, or the text explaining why there is none."""
    async with db.session() as session:
        matches = await resolve(session, name)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return t("org.not_found", lang, name=echo(name))
    names = ", ".join(esc(f"{m.key} ({m.label(lang)})") for m in matches)
    return t("org.admin.ambiguous", lang, name=echo(name), names=names)


def error_text(error: OrgError, lang: str) -> str:
    details = {key: echo(value) for key, value in error.details.items()}
    return t(f"org.error.{error.code}", lang, **details)


@router.message(Command("org_alias"), IsAdmin())
async def org_alias_command(message: Message, command: CommandObject, db: Database,
                            lang: str) -> None:
    pair = split_pair(command.args or "")
    if pair is None:
        await message.answer(t("org.admin.alias_usage", lang))
        return
    org = await find_one(db, pair[0], lang)
    if isinstance(org, str):
        await message.answer(org)
        return
    try:
        org = await add_alias(db, org.org_id, pair[1], actor(message))
    except OrgError as error:
        await message.answer(error_text(error, lang))
        return
    await message.answer(t("org.admin.alias_added", lang, alias=echo(pair[1]),
                           name=esc(org.label(lang))))


@router.message(Command("org_merge"), IsAdmin())
async def org_merge_command(message: Message, command: CommandObject, db: Database,
                            lang: str) -> None:
    pair = split_pair(command.args or "")
    if pair is None:
        await message.answer(t("org.admin.merge_usage", lang))
        return
    source, target = await find_one(db, pair[0], lang), await find_one(db, pair[1], lang)
    for found in (source, target):
        if isinstance(found, str):
            await message.answer(found)
            return
    assert isinstance(source, OrgMatch) and isinstance(target, OrgMatch)
    try:
        await merge(db, source.org_id, target.org_id, actor(message))
    except OrgError as error:
        await message.answer(error_text(error, lang))
        return
    await message.answer(t("org.admin.merged", lang, source=esc(source.label(lang)),
                           target=esc(target.label(lang))))


@router.message(Command("org_add"), IsAdmin())
async def org_add_command(message: Message, command: CommandObject, db: Database,
                          lang: str) -> None:
    pair = split_pair(command.args or "")
    if pair is None:
        await message.answer(t("org.admin.add_usage", lang))
        return
    try:
        org = await add_org(db, pair[0], pair[1], actor(message))
    except OrgError as error:
        await message.answer(error_text(error, lang))
        return
    await message.answer(t("org.admin.added", lang, key=echo(org.key), name=echo(org.name)))


@router.message(Command("org_alias", "org_merge", "org_add"))
async def org_admin_refused(message: Message, lang: str) -> None:
    await message.answer(t("admin.only", lang))
