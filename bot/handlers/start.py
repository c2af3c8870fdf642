"""Subscribing: /start, /help, /lang, /subscribe, /unsubscribe (private chats, groups, channels)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import ChatMemberUpdated, Message

from bot.config import Settings
from bot.handlers.common import MANAGERS, can_manage, echo
from bot.html import esc
from bot.i18n import t
from bot.keyboards import choice_menu, language_labels
from storage.chats import deactivate, subscribe, update_chat
from storage.db import Database

router = Router(name="start")


def _title(message: Message) -> str | None:
    return message.chat.title or message.chat.username


@router.message(CommandStart())
async def start(message: Message, bot: Bot, db: Database, lang: str, settings: Settings,
                clock: Callable[[], datetime]) -> None:
    if not await can_manage(bot, message.chat, message.from_user):
        await message.answer(t("common.group_admins_only", lang))
        return
    chat, _new = await subscribe(db, message.chat.id, type=message.chat.type,
                                 title=_title(message), lang=lang, now=clock(), tz=settings.tz)
    await message.answer(t("common.welcome", chat.lang, time=chat.digest_time, tz=esc(chat.tz)))


@router.message(Command("help"))
async def help_(message: Message, lang: str, settings: Settings) -> None:
    text = t("common.help", lang)
    user = message.from_user
    if user is not None and user.id in settings.admin_ids:
        text += "\n\n" + t("admin.help", lang)
    await message.answer(text)


@router.message(Command("lang"))
async def choose_language(message: Message, lang: str) -> None:
    await message.answer(t("settings.choose.lang", lang),
                         reply_markup=choice_menu("lang", list(language_labels()), lang, lang,
                                                  language_labels()))


@router.message(Command("subscribe"))
async def subscribe_here(message: Message, command: CommandObject, bot: Bot, db: Database,
                         lang: str, settings: Settings, clock: Callable[[], datetime]) -> None:
    if command.args:
        await _subscribe_channel(message, command.args.strip(), bot, db, lang, settings,
                                 clock())
        return
    if not await can_manage(bot, message.chat, message.from_user):
        await message.answer(t("common.group_admins_only", lang))
        return
    chat, _ = await subscribe(db, message.chat.id, type=message.chat.type, title=_title(message),
                              lang=lang, now=clock(), tz=settings.tz)
    await message.answer(t("common.subscribed", lang, time=chat.digest_time, tz=esc(chat.tz)))


@router.channel_post(Command("subscribe"))
async def subscribe_channel_post(message: Message, db: Database, lang: str, settings: Settings,
                                 clock: Callable[[], datetime]) -> None:
    """Only a channel's admins can post there, so a post `/subscribe` is an admin's wish."""
    chat, _ = await subscribe(db, message.chat.id, type=ChatType.CHANNEL, title=_title(message),
                              lang=lang, now=clock(), tz=settings.tz)
    await message.answer(t("common.subscribed", lang, time=chat.digest_time, tz=esc(chat.tz)))


@router.channel_post(Command("unsubscribe"))
async def unsubscribe_channel_post(message: Message, db: Database, lang: str) -> None:
    await update_chat(db, message.chat.id, frequency="off")
    await message.answer(t("common.unsubscribed", lang))


async def _subscribe_channel(message: Message, name: str, bot: Bot, db: Database, lang: str,
                             settings: Settings, now: datetime) -> None:
    """`/subscribe @channel` from a private chat: the bot must be an admin of the channel and
    so must the person asking."""
    user = message.from_user
    if message.chat.type != ChatType.PRIVATE or user is None:
        await message.answer(t("common.channel_from_private", lang))
        return
    try:
        channel = await bot.get_chat(name)
        me = await bot.get_chat_member(channel.id, bot.id)
        asker = await bot.get_chat_member(channel.id, user.id)
    except (TelegramBadRequest, TelegramForbiddenError):
        await message.answer(t("common.channel_not_found", lang, channel=echo(name)))
        return
    if me.status not in MANAGERS:
        await message.answer(t("common.channel_bot_not_admin", lang, channel=echo(name)))
        return
    if asker.status not in MANAGERS:
        await message.answer(t("common.channel_you_not_admin", lang, channel=echo(name)))
        return
    chat, _ = await subscribe(db, channel.id, type=ChatType.CHANNEL,
                              title=channel.title or channel.username, lang=lang, now=now,
                              tz=settings.tz)
    await message.answer(t("common.channel_subscribed", lang, channel=echo(name),
                           time=chat.digest_time, tz=esc(chat.tz)))


@router.message(Command("unsubscribe"))
async def unsubscribe(message: Message, bot: Bot, db: Database, lang: str) -> None:
    if not await can_manage(bot, message.chat, message.from_user):
        await message.answer(t("common.group_admins_only", lang))
        return
    await update_chat(db, message.chat.id, frequency="off")
    await message.answer(t("common.unsubscribed", lang))


@router.my_chat_member()
async def membership(event: ChatMemberUpdated, db: Database) -> None:
    """Removed from a group or channel (or blocked in a private chat): stop sending there."""
    if event.new_chat_member.status in (ChatMemberStatus.KICKED, ChatMemberStatus.LEFT):
        await deactivate(db, event.chat.id, f"bot {event.new_chat_member.status}")


fallback = Router(name="fallback")


@fallback.message(F.chat.type == ChatType.PRIVATE, F.text.startswith("/"))
async def unknown_command(message: Message, lang: str) -> None:
    await message.answer(t("common.unknown_command", lang))
