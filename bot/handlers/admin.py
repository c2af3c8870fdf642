"""Admin-only commands: the list, and the polite refusal everyone else gets.

The admin routers (`admin_topics`, `admin_sources`, `stats`) filter on `IsAdmin()`; this
router comes after them and answers the same commands from anyone else.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.i18n import t
from bot.keyboards import ReviewCb

ADMIN_COMMANDS = (
    "topic", "topic_add_term", "topic_remove_term", "topic_threshold", "topic_new", "teach",
    "rescore", "sources", "source_add", "source_pause", "source_resume", "source_remove",
    "stats",
)

refusal = Router(name="admin-refusal")


@refusal.message(Command(*ADMIN_COMMANDS))
async def admin_only(message: Message, lang: str) -> None:
    await message.answer(t("admin.only", lang))


@refusal.callback_query(ReviewCb.filter())
async def admin_only_button(query: CallbackQuery, lang: str) -> None:
    await query.answer(t("admin.only", lang), show_alert=True)
