"""/org through the Bot API stand-in: the week's top as buttons, fuzzy names, choices, the
card with weekly bars and pages, and the admin commands."""

from __future__ import annotations

import pytest
from telegram_stub import BotHarness
from test_orgs_store import SEEDS
from test_search_index import NOW, add_items

from bot.handlers.orgs import sparkline
from bot.i18n import t
from storage.db import Database
from storage.orgs import sync_gazetteer
from topics import load_gazetteer


@pytest.fixture
async def store(sqlite_db: Database) -> Database:
    async with sqlite_db.session() as session:
        await sync_gazetteer(session, load_gazetteer(SEEDS).entries)
        await session.commit()
    on = {"sco": 0.9}
    await add_items(
        sqlite_db,
        *({"title": f"Саммит ШОС, день {n}", "orgs": ["sco"], "topics": on,
           "days_ago": n * 1.5} for n in range(1, 8)),
        {"title": "Секретариат ШОС <отчёт>", "orgs": ["sco_secretariat"], "topics": on},
    )
    return sqlite_db


def test_sparkline_scales_to_the_busiest_week() -> None:
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert sparkline([0, 0]) == "▁▁"


async def test_top_then_card_then_pages(store: Database) -> None:
    async with BotHarness(store, clock=lambda: NOW) as h:
        top = (await h.send("/org"))[0]
        assert top.plain.startswith("Организации, которые чаще всего упоминались")
        assert [text for text, _ in top.buttons] == ["ШОС · 4", "Секретариат ШОС · 1"]
        card = (await h.press(top, top.buttons[0][1]))[0]
        assert card.edited and card.plain.startswith("🏢 ШОС\nУпоминания по неделям")
        assert "0 0 0 0 0 0 3 4" in card.plain and "всего новостей: 7" in card.plain
        assert "1. Саммит ШОС, день 1" in card.plain
        assert [text for text, _ in card.buttons] == ["1/2", "▶"]
        second = (await h.press(card, card.buttons[1][1]))[0]
        assert "6. Саммит ШОС, день 6" in second.plain


@pytest.mark.parametrize("name", ["ШОС", "SCO", "шанхайской организации сотрудничества"])
async def test_names_in_any_language_open_the_card(store: Database, name: str) -> None:
    async with BotHarness(store, clock=lambda: NOW) as h:
        card = (await h.send(f"/org {name}", lang="en"))[0]
        assert card.plain.startswith("🏢 SCO\nMentions per week")


async def test_ambiguous_and_unknown_names(store: Database) -> None:
    async with BotHarness(store, clock=lambda: NOW) as h:
        choice = (await h.send("/org банк развития"))[0]
        assert "какую организацию вы имеете в виду" in choice.plain
        assert len(choice.buttons) > 1
        card = (await h.press(choice, choice.buttons[0][1]))[0]
        assert card.plain.startswith("🏢 ")
        unknown = (await h.send("/org <Рога и копыта>"))[0]
        assert "Не нашёл организацию «&lt;Рога и копыта&gt;»" in unknown.text
        secretariat = (await h.send("/org секретариат шос"))[0]
        assert "Секретариат ШОС &lt;отчёт&gt;" in secretariat.text


async def test_admin_commands(store: Database) -> None:
    async with BotHarness(store, clock=lambda: NOW) as h:  # admin_ids = {1}
        done = (await h.send("/org_alias sco = Шанхай бестігі", chat_id=1))[0]
        assert done.plain == "Готово: «Шанхай бестігі» теперь означает ШОС."
        card = (await h.send("/org шанхай бестігі", chat_id=1))[0]
        assert card.plain.startswith("🏢 ШОС")
        taken = (await h.send("/org_alias sco_rats = SCO", chat_id=1))[0]
        assert taken.plain == "Написание «sco» уже означает ШОС."
        added = (await h.send("/org_add zhasyl Фонд Жасыл", chat_id=1))[0]
        assert "Добавлена организация Фонд Жасыл" in added.plain
        merged = (await h.send("/org_merge zhasyl = sco", chat_id=1))[0]
        assert merged.plain.startswith("Готово: Фонд Жасыл объединена с ШОС")
        usage = (await h.send("/org_merge", chat_id=1))[0]
        assert "/org_merge что = во что" in usage.plain
        refused = (await h.send("/org_add x Y", chat_id=5))[0]
        assert refused.plain == t("admin.only", "ru")
