"""Dispatcher middlewares: the chat's language for every handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.i18n import pick_language
from storage.chats import chat_lang


class LanguageMiddleware(BaseMiddleware):
    """Inject `lang`: the chat's stored language, else the user's Telegram language, else ru."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat = data.get("event_chat")
        user = data.get("event_from_user")
        stored = await chat_lang(data["db"], chat.id) if chat is not None else None
        data["lang"] = stored or pick_language(user.language_code if user else None)
        return await handler(event, data)


def update_chat_id(update: Update) -> int | None:
    """The chat an update came from, if any (for the error handler's apology)."""
    for event in (update.message, update.channel_post, update.edited_message):
        if event is not None:
            return event.chat.id
    if update.callback_query is not None and update.callback_query.message is not None:
        return update.callback_query.message.chat.id
    return None
