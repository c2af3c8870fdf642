"""Admin topic tuning from the chat; every change goes through `topics.TopicService`.

Changes to a topic's terms, threshold or examples are previewed first (what the last week's
items would become) and only applied when the admin presses Keep. The service logs who
changed what and when.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.filters import IsAdmin
from bot.handlers.common import actor, echo, whole_number
from bot.html import esc, link
from bot.i18n import t
from bot.keyboards import ReviewCb, review_buttons
from storage.db import Database
from storage.outbox import last_delivered
from topics import ChangeRecord, Preview, TopicInfo, TuningError
from topics.service import MAX_DAYS, MAX_WEIGHT

router = Router(name="admin-topics")
router.message.filter(IsAdmin())
router.callback_query.filter(IsAdmin())

PREVIEW_DAYS = 7
EXAMPLES_SHOWN = 5
RECENT_CHANGES = 5  # tuning changes shown on a topic's card
NAME_CHARS, DESCRIPTION_CHARS = 60, 300  # a name labels buttons and digest sections
OFFERED = {"known"}  # refusal details listing what exists (not echoes of the admin's input)
YES, NO = {"yes", "да", "иә", "+", "1", "true"}, {"no", "нет", "жоқ", "-", "0", "false"}


@dataclass
class PendingChange:
    """A previewed change waiting for Keep or Discard."""

    admin_id: int
    topic_id: str
    apply: Callable[[], Awaitable[Any]]


class PendingChanges(dict[str, PendingChange]):
    """Changes being previewed, by token (one per Dispatcher, in memory: a restart drops
    them and the admin simply runs the command again)."""

    def add(self, change: PendingChange) -> str:
        token = secrets.token_hex(4)
        self[token] = change
        return token


def refusal(error: TuningError, lang: str) -> str:
    """A refused change explained in the admin's language."""
    details = {key: esc(value) if key in OFFERED else echo(value)
               for key, value in error.details.items()}
    try:
        reason = t(f"tuning.{error.code}", lang, **details)
    except KeyError:  # a code without a text: the service's own (English) message
        reason = esc(error.message)
    return t("admin.refused", lang, reason=reason)


@router.message(Command("topic"))
async def show_topic(message: Message, command: CommandObject, topic_service: Any,
                     lang: str, settings: Settings) -> None:
    topic_id = (command.args or "").strip()
    if not topic_id:
        topics = await topic_service.list_topics()
        await message.answer(t("admin.topic_usage", lang, topics=esc(", ".join(
            info.id for info in topics))))
        return
    try:
        info = await topic_service.describe(topic_id)
    except TuningError as error:
        await message.answer(refusal(error, lang))
        return
    changes = await topic_service.history(topic_id, limit=RECENT_CHANGES)
    await message.answer(describe_text(info, lang, changes, settings.tz))


@router.message(Command("topic_add_term"))
async def add_term(message: Message, command: CommandObject, topic_service: Any, lang: str,
                   pending: PendingChanges) -> None:
    """`/topic_add_term green solar farm 1.5` (weight optional, default 1; < 0 excludes)."""
    words = (command.args or "").split()
    weight = 1.0
    if len(words) >= 3 and (given := _weight(words[-1])) is not None:
        weight = given
        words.pop()
    if len(words) < 2:
        await message.answer(t("admin.add_term_usage", lang))
        return
    topic_id, term = words[0], " ".join(words[1:])
    change = {"action": "add_term", "term": term, "weight": weight}
    await _preview(message, topic_service, pending, lang, topic_id, change,
                   lambda actor: topic_service.add_term(topic_id, term, weight, actor),
                   t("admin.change_add_term", lang, term=esc(term), weight=weight))


@router.message(Command("topic_remove_term"))
async def remove_term(message: Message, command: CommandObject, topic_service: Any, lang: str,
                      pending: PendingChanges) -> None:
    words = (command.args or "").split()
    if len(words) < 2:
        await message.answer(t("admin.remove_term_usage", lang))
        return
    topic_id, term = words[0], " ".join(words[1:])
    change = {"action": "remove_term", "term": term}
    await _preview(message, topic_service, pending, lang, topic_id, change,
                   lambda actor: topic_service.remove_term(topic_id, term, actor),
                   t("admin.change_remove_term", lang, term=esc(term)))


@router.message(Command("topic_threshold"))
async def set_threshold(message: Message, command: CommandObject, topic_service: Any, lang: str,
                        pending: PendingChanges) -> None:
    words = (command.args or "").split()
    if len(words) != 2 or not _is_number(words[1]):
        await message.answer(t("admin.threshold_usage", lang))
        return
    topic_id, value = words[0], float(words[1])
    change = {"action": "set_threshold", "threshold": value}
    await _preview(message, topic_service, pending, lang, topic_id, change,
                   lambda actor: topic_service.set_threshold(topic_id, value, actor),
                   t("admin.change_threshold", lang, value=value))


@router.message(Command("teach"))
async def teach(message: Message, command: CommandObject, topic_service: Any, lang: str,
                db: Database, pending: PendingChanges) -> None:
    """`/teach 12 green no` (12 = number in this chat's last digest), or in reply to a
    message: `/teach green yes` to use its text."""
    words = (command.args or "").split()
    reply = message.reply_to_message
    if reply is not None and len(words) == 2:
        text = reply.text or reply.caption or ""
        item_id, (topic_id, verdict) = None, words
    elif reply is None and len(words) == 3 and whole_number(words[0]) is not None:
        text, topic_id, verdict = None, words[1], words[2]
        item_id = await _digest_item(db, message.chat.id, int(words[0]))
        if item_id is None:
            await message.answer(t("admin.teach_no_item", lang, number=words[0]))
            return
    else:
        await message.answer(t("admin.teach_usage", lang))
        return
    if verdict.lower() not in YES | NO or (item_id is None and not text.strip()):
        await message.answer(t("admin.teach_usage", lang))
        return
    positive = verdict.lower() in YES
    change = {"action": "add_example", "positive": positive, "item_id": item_id, "text": text}
    await _preview(message, topic_service, pending, lang, topic_id, change,
                   lambda actor: topic_service.add_example(topic_id, positive, actor,
                                                           item_id=item_id, text=text),
                   t("admin.change_example_yes" if positive else "admin.change_example_no",
                     lang))


@router.message(Command("topic_new"))
async def new_topic(message: Message, command: CommandObject, topic_service: Any,
                    lang: str) -> None:
    """`/topic_new water Водные ресурсы | реки, водохранилища, водосбережение`."""
    args = (command.args or "").strip()
    head, _, description = args.partition("|")
    words = head.split(maxsplit=1)
    if len(words) != 2:
        await message.answer(t("admin.topic_new_usage", lang))
        return
    topic_id, name = words[0], words[1].strip()
    if len(name) > NAME_CHARS or len(description) > DESCRIPTION_CHARS:
        await message.answer(t("admin.topic_new_too_long", lang, name=NAME_CHARS,
                               description=DESCRIPTION_CHARS))
        return
    try:
        await topic_service.add_topic(topic_id, {"ru": name, "kk": name, "en": name},
                                      description.strip(), actor(message))
    except TuningError as error:
        await message.answer(refusal(error, lang))
        return
    await message.answer(t("admin.topic_added", lang, topic=esc(topic_id), name=esc(name)))


@router.message(Command("rescore"))
async def rescore(message: Message, command: CommandObject, topic_service: Any,
                  lang: str) -> None:
    args = (command.args or "").strip()
    days = whole_number(args) if args else PREVIEW_DAYS
    if days is None:
        await message.answer(t("admin.rescore_usage", lang))
        return
    if not 1 <= days <= MAX_DAYS:  # refused before "Re-scoring…" is announced
        await message.answer(refusal(TuningError("bad days", "days", max_days=MAX_DAYS), lang))
        return
    await message.answer(t("admin.rescoring", lang, days=days))
    count = await topic_service.rescore(days)
    await message.answer(t("admin.rescored", lang, count=count, days=days))


@router.callback_query(ReviewCb.filter())
async def review(query: CallbackQuery, callback_data: ReviewCb, lang: str,
                 pending: PendingChanges) -> None:
    change = pending.get(callback_data.token)
    if change is None or change.admin_id != query.from_user.id:
        await query.answer(t("admin.change_expired", lang), show_alert=True)
        return
    del pending[callback_data.token]
    message = query.message
    if callback_data.keep:
        try:
            await change.apply()
        except TuningError as error:
            await query.answer()
            if isinstance(message, Message):
                await message.edit_text(refusal(error, lang))
            return
    key = "admin.kept" if callback_data.keep else "admin.discarded"
    await query.answer(t(key, lang))
    if isinstance(message, Message):
        await message.edit_text(f"{message.html_text}\n\n<b>{t(key, lang)}</b>")


async def _preview(message: Message, topic_service: Any, pending: PendingChanges, lang: str,
                   topic_id: str, change: dict[str, Any],
                   apply: Callable[[int | None], Awaitable[Any]], what: str) -> None:
    """Show what the change would catch over the last week, with Keep / Discard."""
    try:
        preview = await topic_service.preview(topic_id, PREVIEW_DAYS, change)
    except TuningError as error:
        await message.answer(refusal(error, lang))
        return
    who = actor(message)
    token = pending.add(PendingChange(who or 0, topic_id, lambda: apply(who)))
    await message.answer(preview_text(preview, topic_id, what, lang),
                         reply_markup=review_buttons(token, lang))


def preview_text(preview: Preview, topic_id: str, what: str, lang: str) -> str:
    lines = [t("admin.preview", lang, topic=esc(topic_id), change=what, days=PREVIEW_DAYS,
               before=len(preview.before), after=len(preview.after))]
    for key, items in (("admin.gained", preview.gained), ("admin.lost", preview.lost)):
        if items:
            lines.append(t(key, lang, count=len(items)))
            lines.extend(f"• {link(x.url, x.title)} ({x.score:.2f})"
                         for x in items[:EXAMPLES_SHOWN])
    return "\n".join(lines)


def describe_text(info: TopicInfo, lang: str, changes: list[ChangeRecord], tz: str) -> str:
    """A topic's card: threshold, strongest learned terms, admin rules, hits this week and
    the latest tuning changes with who made them and when."""
    name = info.names.get(lang) or info.names.get("ru") or info.id
    lines = [t("admin.topic_card", lang, topic=esc(f"{info.id} · {name}"),
               threshold=f"{info.threshold:.2f}", hits=info.hits_week,
               positive=info.positive_examples, negative=info.negative_examples)]
    for key, pairs in (("admin.topic_terms", info.terms), ("admin.topic_rules", info.rules)):
        if pairs:
            lines.append(t(key, lang))
            lines.extend(f"• {esc(term)} ({weight:+.2f})" for term, weight in pairs[:15])
    if changes:
        lines.append(t("admin.topic_changes", lang))
        zone = ZoneInfo(tz)
        lines.extend(
            f"• {change.at.astimezone(zone):%d.%m %H:%M} {esc(change.action)} "
            f"{echo(', '.join(f'{k}={v}' for k, v in change.detail.items()))} "
            f"({change.actor_id or '—'})"
            for change in changes)
    return "\n".join(lines)


async def _digest_item(db: Database, chat_id: int, number: int) -> int | None:
    """Item id behind number `number` of the chat's latest digest."""
    row = await last_delivered(db, chat_id, ("digest", "manual"))
    if row is None or not 1 <= number <= len(row.item_ids):
        return None
    return row.item_ids[number - 1]


def _weight(word: str) -> float | None:
    """The last word of /topic_add_term as a weight, or None when it belongs to the term.

    A number with a sign or a decimal point is always a weight (the service checks its range);
    a bare whole number only within ±MAX_WEIGHT, so "COP 29" or "Астана 2050" stay terms.
    """
    try:
        value = float(word)
    except ValueError:
        return None
    if word[0] in "+-" or "." in word or abs(value) <= MAX_WEIGHT:
        return value
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
