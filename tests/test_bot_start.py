"""Subscribing through the Telegram stand-in: /start, /help, /settings with button presses."""

from __future__ import annotations

from telegram_stub import BOT_ID, BotHarness, add_topics

from bot.keyboards import SettingsCb
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


async def test_settings_buttons_change_frequency_topics_and_language(sqlite_db) -> None:
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db) as h:
        await h.send("/start", chat_id=600, lang="en")
        (menu,) = await h.send("/settings", chat_id=600, lang="en")
        assert "Frequency: daily" in menu.plain and "Topics: all" in menu.plain
        assert ("Frequency", SettingsCb(action="menu", value="freq").pack()) in menu.buttons

        (freq,) = await h.press(menu, SettingsCb(action="menu", value="freq"))
        assert freq.edited and "How often?" in freq.plain
        (summary,) = await h.press(freq, SettingsCb(action="freq", value="weekly"))
        assert "Frequency: weekly (Monday)" in summary.plain
        assert h.stub.callback_answers[-1]["text"] == "Saved"

        (topics,) = await h.press(summary, SettingsCb(action="menu", value="topics"))
        assert "✅ SCO" in [text for text, _ in topics.buttons]
        (topics,) = await h.press(topics, SettingsCb(action="topic", value="sco"))
        assert "▫️ SCO" in [text for text, _ in topics.buttons]

        (summary,) = await h.press(topics, SettingsCb(action="lang", value="ru"))
        assert "Частота: раз в неделю" in summary.plain
        chat = await get_chat(sqlite_db, 600)
        assert (chat.frequency, chat.topics, chat.lang) == ("weekly", ["green"], "ru")

        await h.press(summary, SettingsCb(action="tz", value="Not/AZone"))  # not offered
        assert (await get_chat(sqlite_db, 600)).tz == "Asia/Almaty"


async def test_the_last_chosen_topic_cannot_be_unticked(sqlite_db) -> None:
    """No topics would mean every topic: unticking the last one is refused with an alert."""
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db) as h:
        await h.send("/start", chat_id=610, lang="en")
        (menu,) = await h.send("/settings", chat_id=610, lang="en")
        (topics,) = await h.press(menu, SettingsCb(action="menu", value="topics"))
        (topics,) = await h.press(topics, SettingsCb(action="topic", value="sco"))
        assert (await get_chat(sqlite_db, 610)).topics == ["green"]

        assert await h.press(topics, SettingsCb(action="topic", value="green")) == []
        answer = h.stub.callback_answers[-1]
        assert answer["show_alert"] is True
        assert answer["text"] == ("Keep at least one topic. To stop the digest, set Frequency "
                                  "to “off”.")
        assert (await get_chat(sqlite_db, 610)).topics == ["green"]

        await h.press(topics, SettingsCb(action="lang", value="ru"))
        await h.press(topics, SettingsCb(action="topic", value="green"))
        assert h.stub.callback_answers[-1]["text"].startswith("Оставьте хотя бы одну тему.")
        assert (await get_chat(sqlite_db, 610)).topics == ["green"]


async def test_only_group_admins_change_group_settings(sqlite_db) -> None:
    async with BotHarness(sqlite_db) as h:
        replies = await h.send("/start", chat_id=-2001, user_id=5, chat_type="group")
        assert "только его администраторы" in replies[0].plain
        assert await get_chat(sqlite_db, -2001) is None

        h.stub.set_admin(-2001, 6)
        await h.send("/start", chat_id=-2001, user_id=6, chat_type="group")
        (menu,) = await h.send("/settings", chat_id=-2001, user_id=6, chat_type="group")
        turn_off = SettingsCb(action="freq", value="off")
        assert await h.press(menu, turn_off, user_id=5) == []  # not an admin
        answer = h.stub.callback_answers[-1]
        assert answer["show_alert"] is True
        assert answer["text"] == "Настройки этого чата могут менять только его администраторы."
        assert (await get_chat(sqlite_db, -2001)).frequency == "daily"

        (summary,) = await h.press(menu, turn_off, user_id=6)  # the admin
        assert summary.edited and "Частота: выключено" in summary.plain
        chat = await get_chat(sqlite_db, -2001)
        assert (chat.type, chat.frequency) == ("group", "off")


async def test_channels_subscribe_by_post_or_from_a_private_chat(sqlite_db) -> None:
    async with BotHarness(sqlite_db) as h:
        replies = await h.channel_post("/subscribe", chat_id=-100500)
        assert "Подписка включена" in replies[0].plain
        assert (await get_chat(sqlite_db, -100500)).type == "channel"

        h.stub.add_chat(-100600, "channel", "Green KZ", "greenkz")
        replies = await h.send("/subscribe @greenkz", chat_id=9, user_id=9, lang="en")
        assert "I am not an administrator of @greenkz" in replies[0].plain
        h.stub.set_admin(-100600, BOT_ID)
        replies = await h.send("/subscribe @greenkz", chat_id=9, user_id=9, lang="en")
        assert "Only an administrator of @greenkz" in replies[0].plain
        h.stub.set_admin(-100600, 9)
        replies = await h.send("/subscribe @greenkz", chat_id=9, user_id=9, lang="en")
        assert "@greenkz is subscribed" in replies[0].plain
        channel = await get_chat(sqlite_db, -100600)
        assert channel.type == "channel" and channel.lang == "en"
        replies = await h.send("/subscribe @nosuch", chat_id=9, user_id=9, lang="en")
        assert "could not find @nosuch" in replies[0].plain


async def test_unknown_command_and_commands_menu(sqlite_db) -> None:
    from bot.app import set_commands

    async with BotHarness(sqlite_db) as h:
        replies = await h.send("/whatever", lang="en")
        assert replies[0].plain == "I don't know that command. All commands: /help."
        await set_commands(h.bot)
        assert set(h.stub.commands) == {"", "ru", "kk", "en"}
        assert {c["command"] for c in h.stub.commands["kk"]} >= {"digest", "settings", "search"}


async def test_removed_from_a_group_stops_sending_there(sqlite_db) -> None:
    async with BotHarness(sqlite_db) as h:
        h.stub.set_admin(-3001, 6)
        await h.send("/start", chat_id=-3001, user_id=6, chat_type="group")
        bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Newsbot"}
        await h.feed({"my_chat_member": {
            "chat": {"id": -3001, "type": "group", "title": "G"},
            "from": {"id": 6, "is_bot": False, "first_name": "A"}, "date": 1764043200,
            "old_chat_member": {"status": "member", "user": bot_user},
            "new_chat_member": {"status": "kicked", "user": bot_user, "until_date": 0},
        }})
        chat = await get_chat(sqlite_db, -3001)
        assert not chat.active and chat.inactive_reason == "bot kicked"
        await h.send("/start", chat_id=-3001, user_id=6, chat_type="group")  # added back
        assert (await get_chat(sqlite_db, -3001)).active
