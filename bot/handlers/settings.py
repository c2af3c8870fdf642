"""/settings: topics, digest time, frequency, language and time zone by inline buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.config import Settings
from bot.handlers.common import can_manage, label, this_chat, topic_catalog
from bot.html import esc
from bot.i18n import t
from bot.keyboards import (
    DIGEST_TIMES,
    TIME_ZONES,
    SettingsCb,
    choice_menu,
    frequency_labels,
    language_labels,
    settings_menu,
    topics_menu,
)
from storage.chats import toggle_topic, update_chat
from storage.db import Database
from storage.models import Chat

router = Router(name="settings")


async def _summary(chat: Chat, db: Database, topic_service: Any) -> str:
    catalog = await topic_catalog(db, topic_service)
    lang = chat.lang
    topics = (", ".join(esc(label(catalog.get(tid, {}), lang, tid)) for tid in chat.topics)
              if chat.topics else t("settings.all_topics", lang))
    return t("settings.summary", lang, topics=topics, time=chat.digest_time, tz=esc(chat.tz),
             frequency=frequency_labels(lang)[chat.frequency], language=language_labels()[lang])


@router.message(Command("settings"))
async def show_settings(message: Message, bot: Bot, db: Database, lang: str, topic_service: Any,
                        settings: Settings, clock: Callable[[], datetime]) -> None:
    if not await can_manage(bot, message.chat, message.from_user):
        await message.answer(t("common.group_admins_only", lang))
        return
    chat = await this_chat(message, db, lang, settings, clock())
    await message.answer(await _summary(chat, db, topic_service),
                         reply_markup=settings_menu(chat.lang))


@router.callback_query(SettingsCb.filter())
async def on_settings(query: CallbackQuery, callback_data: SettingsCb, bot: Bot, db: Database,
                      lang: str, topic_service: Any, settings: Settings,
                      clock: Callable[[], datetime]) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    if not await can_manage(bot, message.chat, query.from_user):
        await query.answer(t("common.group_admins_only", lang), show_alert=True)
        return
    chat = await this_chat(message, db, lang, settings, clock())
    action, value = callback_data.action, callback_data.value
    if action == "close":
        await query.answer()
        await message.edit_text(await _summary(chat, db, topic_service))
        return
    if action == "menu":
        text, markup = await _menu(value, chat, db, topic_service)
        await query.answer()
        await message.edit_text(text, reply_markup=markup)
        return
    if action == "topic" and await _only_topic_left(chat, value, db, topic_service):
        await query.answer(t("settings.last_topic", chat.lang), show_alert=True)
        return
    chat = await _apply(action, value, chat, db, topic_service)
    await query.answer(t("settings.saved", chat.lang))
    if action == "topic":  # stay in the topic list to toggle more
        text, markup = await _menu("topics", chat, db, topic_service)
        await message.edit_text(text, reply_markup=markup)
        return
    await message.edit_text(await _summary(chat, db, topic_service),
                            reply_markup=settings_menu(chat.lang))


async def _menu(name: str, chat: Chat, db: Database,
                topic_service: Any) -> tuple[str, InlineKeyboardMarkup]:
    lang = chat.lang
    if name == "topics":
        catalog = await topic_catalog(db, topic_service)
        labels = {tid: label(names, lang, tid) for tid, names in catalog.items()}
        return t("settings.choose.topics", lang), topics_menu(labels, chat.topics, lang)
    if name == "time":
        return t("settings.choose.time", lang), choice_menu("time", DIGEST_TIMES,
                                                            chat.digest_time, lang)
    if name == "freq":
        labels = frequency_labels(lang)
        return t("settings.choose.freq", lang), choice_menu("freq", list(labels), chat.frequency,
                                                            lang, labels)
    if name == "lang":
        labels = language_labels()
        return t("settings.choose.lang", lang), choice_menu("lang", list(labels), lang, lang,
                                                            labels)
    if name == "tz":
        return t("settings.choose.tz", lang), choice_menu("tz", TIME_ZONES, chat.tz, lang)
    return await _summary(chat, db, topic_service), settings_menu(lang)


async def _only_topic_left(chat: Chat, topic_id: str, db: Database, topic_service: Any) -> bool:
    """Unticking the one chosen topic would leave none, and no topics means every topic."""
    return set(chat.topics or await topic_catalog(db, topic_service)) == {topic_id}


async def _apply(action: str, value: str, chat: Chat, db: Database, topic_service: Any) -> Chat:
    """Store one choice; values not offered by the keyboards are ignored."""
    updated: Chat | None = None
    if action == "topic":
        catalog = await topic_catalog(db, topic_service)
        if value in catalog:
            updated = await toggle_topic(db, chat.id, value, list(catalog))
    elif action == "time" and value in DIGEST_TIMES:
        updated = await update_chat(db, chat.id, digest_time=value)
    elif action == "freq" and value in frequency_labels(chat.lang):
        updated = await update_chat(db, chat.id, frequency=value)
    elif action == "lang" and value in language_labels():
        updated = await update_chat(db, chat.id, lang=value)
    elif action == "tz" and value in TIME_ZONES:
        updated = await update_chat(db, chat.id, tz=value)
    return updated or chat
