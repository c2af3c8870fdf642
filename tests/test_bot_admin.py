"""Admin commands through the Telegram stand-in, by an admin and by everybody else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram_stub import BotHarness, add_item

from bot.config import Settings
from bot.handlers.admin import ADMIN_COMMANDS
from bot.keyboards import ReviewCb
from storage import topics as topic_store
from topics import TopicService

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ADMIN, USER = 1, 2
NOW = datetime.now(UTC)


@pytest.fixture
async def service(sqlite_db) -> TopicService:
    service = TopicService(sqlite_db, SEEDS, ner=False)
    await service.load()
    return service


def _settings(**kwargs) -> Settings:
    return Settings(_env_file=None, admin_ids={ADMIN}, **kwargs)


@pytest.mark.parametrize("command", [*ADMIN_COMMANDS, "org_alias", "org_merge", "org_add"])
async def test_everybody_else_is_told_politely(sqlite_db, service, command) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        for args in ("", " green 1"):
            (reply,) = await h.send(f"/{command}{args}", chat_id=USER, lang="en")
            assert reply.plain == "This command is for the bot's administrators only."


async def test_admin_commands_listed_in_help_for_admins_only(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        (help_,) = await h.send("/help", chat_id=USER, lang="en")
        assert "/topic_add_term" not in help_.plain
        (help_,) = await h.send("/help", chat_id=ADMIN, lang="en")
        assert "/topic_add_term" in help_.plain and "/stats" in help_.plain


async def test_topic_card_and_a_previewed_term_kept(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        (card,) = await h.send("/topic green", chat_id=ADMIN, lang="en")
        assert card.plain.startswith("Topic green · ") and "Threshold: " in card.plain
        assert "Strongest terms:" in card.plain

        (preview,) = await h.send("/topic_add_term green зелёный водород 2", chat_id=ADMIN,
                                  lang="en")
        assert "Preview: green" in preview.plain and "зелёный водород" in preview.plain
        assert [text for text, _ in preview.buttons] == ["✅ Keep", "✖️ Discard"]
        keep = preview.buttons[0][1]

        await h.press(preview, keep, user_id=USER, lang="en")  # not an admin
        assert h.stub.callback_answers[-1]["show_alert"] is True
        assert "зелёный водород" not in {r.term for r in await topic_store.rules(sqlite_db)}

        (done,) = await h.press(preview, keep, user_id=ADMIN, lang="en")
        assert done.edited and done.plain.endswith("Change kept.")
        rules = await topic_store.rules(sqlite_db)
        assert [(r.term, r.weight, r.added_by) for r in rules] == [("зелёный водород", 2.0, 1)]

        await h.press(preview, keep, user_id=ADMIN, lang="en")  # pressed twice
        assert "no longer waiting" in h.stub.callback_answers[-1]["text"]

        # the card shows the change and who made it, with its local time
        (card,) = await h.send("/topic green", chat_id=ADMIN, lang="en")
        changes = card.plain.split("Latest changes (who: user id):\n")[1].splitlines()
        assert "add_term term=зелёный водород, weight=2.0 (1)" in changes[0]


async def test_a_trailing_number_is_a_weight_only_when_it_can_be_one(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        for args, term, weight in (("COP 29", "COP 29", "1.0"),
                                   ("ЭКСПО 2017", "ЭКСПО 2017", "1.0"),
                                   ("Астана 2050", "Астана 2050", "1.0"),
                                   ("водород 2", "водород", "2.0"),
                                   ("водород 1.5", "водород", "1.5"),
                                   ("водород -2", "водород", "-2.0")):
            (preview,) = await h.send(f"/topic_add_term green {args}", chat_id=ADMIN, lang="en")
            assert f"add term “{term}” with weight {weight}" in preview.plain
        (reply,) = await h.send("/topic_add_term green водород -20", chat_id=ADMIN, lang="en")
        assert reply.plain.startswith("That did not work: the weight must be")


async def test_a_new_topic_with_a_huge_name_is_refused(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        for args in (f"water {'ж' * 5000}", f"water Вода | {'ж' * 5000}"):
            (reply,) = await h.send(f"/topic_new {args}", chat_id=ADMIN, lang="en")
            assert reply.plain == ("A topic name can have at most 60 characters and its "
                                   "description at most 300.")
        assert "water" not in [info.id for info in await service.list_topics()]
        (reply,) = await h.send("/topic_new water Вода | реки", chat_id=ADMIN, lang="en")
        assert reply.plain.startswith("Topic water “Вода” added.")


async def test_threshold_discarded_and_bad_input_explained(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        before = service.classifier.threshold("green")
        (preview,) = await h.send("/topic_threshold green 0.2", chat_id=ADMIN, lang="en")
        (done,) = await h.press(preview, preview.buttons[1][1], user_id=ADMIN, lang="en")
        assert done.plain.endswith("Change discarded.")
        assert service.classifier.threshold("green") == before

        (reply,) = await h.send("/topic_threshold green 7", chat_id=ADMIN, lang="en")
        assert reply.plain.startswith("That did not work: the threshold must be")
        (reply,) = await h.send("/topic nosuch", chat_id=ADMIN, lang="en")
        assert reply.plain == "That did not work: unknown topic “nosuch”. Topics: green, sco."
        # in the admin's own language, with what they typed escaped
        (reply,) = await h.send("/topic_remove_term green <b>нет</b>", chat_id=ADMIN, lang="ru")
        assert reply.plain == "Не получилось: «<b>нет</b>» — не термин этой темы."
        (reply,) = await h.send("/topic_threshold green", chat_id=ADMIN, lang="en")
        assert reply.plain == "Like this: /topic_threshold green 0.45"


async def test_teach_by_digest_number_and_by_reply(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        await h.send("/start", chat_id=ADMIN, lang="en")
        await add_item(sqlite_db, "Солнечная электростанция", score=0.9,
                       fetched_at=NOW - timedelta(minutes=5))
        second = await add_item(sqlite_db, "Футбольный матч в Астане", score=0.6,
                                fetched_at=NOW - timedelta(minutes=5))
        await h.send("/digest", chat_id=ADMIN, lang="en")

        (preview,) = await h.send("/teach 2 green no", chat_id=ADMIN, lang="en")
        assert "example “off topic”" in preview.plain
        await h.press(preview, preview.buttons[0][1], user_id=ADMIN)
        examples = await topic_store.examples(sqlite_db)
        assert [(e.item_id, e.positive) for e in examples] == [(second, False)]

        (reply,) = await h.send("/teach 9 green no", chat_id=ADMIN, lang="en")
        assert reply.plain == "This chat's last digest has no item 9."

        quoted = h.message_update("Ветряная электростанция мощностью 100 МВт", chat_id=ADMIN)
        (preview,) = await h.send("/teach green yes", chat_id=ADMIN, lang="en",
                                  reply_to=quoted["message"])
        await h.press(preview, ReviewCb.unpack(preview.buttons[0][1]), user_id=ADMIN)
        examples = await topic_store.examples(sqlite_db)
        assert examples[-1].positive and "Ветряная" in examples[-1].text


async def test_outlets_and_stats(sqlite_db, service) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        await add_item(sqlite_db, "Солнечная электростанция", outlet="Kursiv <KZ>")
        (listing,) = await h.send("/sources", chat_id=ADMIN, lang="en")
        assert "Outlets (1)" in listing.plain and "#1 Kursiv <KZ>" in listing.plain
        assert "Kursiv &lt;KZ&gt;" in listing.text

        (reply,) = await h.send("/source_pause 1", chat_id=ADMIN, lang="en")
        assert reply.plain == "Outlet #1 “Kursiv <KZ>” is paused."
        (listing,) = await h.send("/sources", chat_id=ADMIN, lang="en")
        assert "⏸ #1" in listing.plain
        (reply,) = await h.send("/source_resume 1", chat_id=ADMIN, lang="en")
        assert "polled again" in reply.plain
        (reply,) = await h.send("/source_pause 99", chat_id=ADMIN, lang="en")
        assert reply.plain == "There is no outlet #99. List: /sources"
        (reply,) = await h.send("/source_add http://127.0.0.1:9/rss", chat_id=ADMIN, lang="en")
        assert reply.plain.startswith("Did not add http://127.0.0.1:9/rss: ")

        await h.send("/start", chat_id=ADMIN, lang="en")
        (stats,) = await h.send("/stats", chat_id=ADMIN, lang="en")
        assert "Items fetched: 1, kept on topic: 1" in stats.plain
        assert "Kursiv <KZ>: 1 / 1" in stats.plain
        assert "Subscribers: 1 active, 0 turned off, 0 unreachable" in stats.plain


async def test_rescore(sqlite_db, service) -> None:
    await add_item(sqlite_db, "Солнечная электростанция мощностью 100 МВт",
                   fetched_at=NOW - timedelta(days=1))
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        replies = await h.send("/rescore 3", chat_id=ADMIN, lang="en")
        assert [r.plain for r in replies] == [
            "Re-scoring the last 3 days…", "Done: items re-scored: 1 (last 3 days)."]
        (reply,) = await h.send("/rescore soon", chat_id=ADMIN, lang="en")
        assert reply.plain == "Like this: /rescore 7 (days)"
        for days in ("0", "400"):
            (reply,) = await h.send(f"/rescore {days}", chat_id=ADMIN, lang="en")
            assert reply.plain == "That did not work: days must be a whole number from 1 to 366."


async def test_odd_digits_get_the_usage_not_an_apology(sqlite_db, service) -> None:
    """"²" and "①" pass str.isdigit() but int() refuses them; so do 5,000 real digits."""
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=service) as h:
        for odd in ("²", "①", "9" * 5000):
            (reply,) = await h.send(f"/rescore {odd}", chat_id=ADMIN, lang="en")
            assert reply.plain == "Like this: /rescore 7 (days)"
            (reply,) = await h.send(f"/source_pause {odd}", chat_id=ADMIN, lang="en")
            assert reply.plain.startswith("Like this: /source_pause")
            (reply,) = await h.send(f"/teach {odd} green no", chat_id=ADMIN, lang="en")
            assert reply.plain.startswith("Like this: /teach")


async def test_a_failing_handler_apologises_without_a_traceback(sqlite_db, caplog) -> None:
    async with BotHarness(sqlite_db, settings=_settings(), topic_service=None) as h:
        (reply,) = await h.send("/topic green", chat_id=ADMIN, lang="en")
        assert reply.plain == "Sorry, something went wrong. Please try again a bit later."
    assert "update" in caplog.text and "failed" in caplog.text  # logged for the operator
