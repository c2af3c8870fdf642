"""The configured time zone (settings.tz) is a new chat's zone and the zone /latest shows
times in for a chat the bot does not know; a chat's own choice wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram_stub import BotHarness, add_item, add_topics

from bot.config import Settings
from storage.chats import get_chat, update_chat

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 11:00 in Moscow, 13:00 in Almaty


def _settings() -> Settings:
    return Settings(_env_file=None, admin_ids={1}, tz="Europe/Moscow")


async def test_a_new_chat_gets_the_configured_time_zone(sqlite_db) -> None:
    async with BotHarness(sqlite_db, settings=_settings()) as h:
        (reply,) = await h.send("/start", chat_id=701, lang="en")
        assert "at 09:00 (Europe/Moscow)" in reply.plain
        assert (await get_chat(sqlite_db, 701)).tz == "Europe/Moscow"


async def test_latest_shows_times_in_the_chats_zone(sqlite_db) -> None:
    await add_topics(sqlite_db)
    await add_item(sqlite_db, "Саммит ШОС", topic="sco", fetched_at=NOW - timedelta(hours=1),
                   published_at=NOW - timedelta(hours=2))  # 06:00 UTC
    async with BotHarness(sqlite_db, settings=_settings(), clock=lambda: NOW) as h:
        (latest,) = await h.send("/latest", chat_id=702, lang="en")  # unknown chat
        assert "Саммит ШОС — Kursiv, 09:00" in latest.plain
        await h.send("/start", chat_id=702, lang="en")
        await update_chat(sqlite_db, 702, tz="Asia/Tokyo")
        (latest,) = await h.send("/latest", chat_id=702, lang="en")
        assert "Саммит ШОС — Kursiv, 15:00" in latest.plain
