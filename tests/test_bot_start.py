"""Subscribing through the Telegram stand-in: /start, /help, /settings with button presses."""

from __future__ import annotations

from telegram_stub import BotHarness

from storage.chats import get_chat


async def test_start_subscribes_in_the_users_language(sqlite_db) -> None:
    async with BotHarness(sqlite_db) as h:
        replies = await h.send("/start", chat_id=501, lang="en")
        assert len(replies) == 1
        assert "daily digest of all topics at 09:00 (Asia/Almaty)" in replies[0].plain
        assert "/settings" in replies[0].plain
        chat = await get_chat(sqlite_db, 501)
        assert chat is not None and chat.lang == "en" and chat.frequency == "daily"

        replies = await h.send("/start", chat_id=502, lang="kk")
        assert "Сәлеметсіз бе" in replies[0].plain
        replies = await h.send("/start", chat_id=503, lang=None)
        assert "Здравствуйте" in replies[0].plain


async def test_long_polling_picks_up_updates(sqlite_db) -> None:
    async with BotHarness(sqlite_db) as h, h.polling():
        h.stub.enqueue(h.message_update("/help", chat_id=77, lang="ru"))
        sent = await h.stub.wait_sent(77)
        assert "/digest" in sent[0].plain
