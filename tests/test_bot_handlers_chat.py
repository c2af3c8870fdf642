"""/settings and /digest from a chat the bot has never seen: they answer and keep a row for
its settings, but do not sign it up for the daily digest (only /start and /subscribe do)."""

from __future__ import annotations

from telegram_stub import BotHarness

from bot.config import Settings
from bot.keyboards import SettingsCb
from storage.chats import active_chats, get_chat


def _settings() -> Settings:
    return Settings(_env_file=None, admin_ids={1}, tz="Asia/Aqtobe")


async def test_settings_from_a_stranger_do_not_subscribe(sqlite_db) -> None:
    async with BotHarness(sqlite_db, settings=_settings()) as h:
        (menu,) = await h.send("/settings", chat_id=801, lang="en")
        assert "Frequency: off" in menu.plain and "(Asia/Aqtobe)" in menu.plain
        chat = await get_chat(sqlite_db, 801)
        assert (chat.frequency, chat.tz, chat.lang) == ("off", "Asia/Aqtobe", "en")
        assert await active_chats(sqlite_db, ["daily", "weekly", "instant"]) == []

        (summary,) = await h.press(menu, SettingsCb(action="freq", value="daily"), lang="en")
        assert "Frequency: daily" in summary.plain  # the user's own choice subscribes


async def test_digest_from_a_stranger_answers_without_subscribing(sqlite_db) -> None:
    async with BotHarness(sqlite_db, settings=_settings()) as h:
        (reply,) = await h.send("/digest", chat_id=802, lang="en")
        assert reply.plain.startswith("Nothing new since ")
        assert (await get_chat(sqlite_db, 802)).frequency == "off"
        (reply,) = await h.send("/start", chat_id=802, lang="en")
        assert (await get_chat(sqlite_db, 802)).frequency == "daily"
