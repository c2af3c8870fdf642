"""/search through the Bot API stand-in: pages, ◀ ▶ buttons editing the message, escaping."""

from __future__ import annotations

from telegram_stub import BotHarness, add_topics
from test_search_index import NOW, add_items

from bot.handlers.search import SearchCb
from storage.db import Database


def numbered(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit()]


async def test_search_pages_with_buttons_that_edit_the_message(db: Database) -> None:
    await add_topics(db)
    await add_items(db, *({"title": f"Солнечная станция №{n}", "days_ago": n,
                           "topics": {"green": 0.9}} for n in range(12)))
    async with BotHarness(db, clock=lambda: NOW) as h:
        first = (await h.send("/search солнечные станции", chat_id=42))[0]
        assert first.plain.splitlines()[:2] == ["🔎 солнечные станции",
                                                "Найдено: 12 · страница 1 из 3"]
        assert numbered(first.plain)[0] == "1. Солнечная станция №0"
        assert len(numbered(first.plain)) == 5
        assert '<a href="https://kz.kursiv.media/feed/0/' in first.text
        assert "Kursiv · 24.11.2026 · #" in first.plain  # local date (Almaty) and a badge
        assert first.buttons == [("1/3", "srch:0"), ("▶", "srch:2")]

        second = (await h.press(first, SearchCb(page=2)))[0]
        assert second.edited and second.message_id == first.message_id
        assert numbered(second.plain)[0] == "6. Солнечная станция №5"
        assert [text for text, _ in second.buttons] == ["◀", "2/3", "▶"]

        third = (await h.press(second, SearchCb(page=3)))[0]
        assert len(numbered(third.plain)) == 2
        assert [text for text, _ in third.buttons] == ["◀", "3/3"]
        assert await h.press(third, SearchCb(page=0)) == []  # the page number does nothing
        assert h.stub.calls[-1].method == "answerCallbackQuery"


async def test_search_without_results_usage_and_hints(sqlite_db: Database) -> None:
    await add_items(sqlite_db, {"title": "Ветер <b>& солнце</b>"})
    async with BotHarness(sqlite_db, clock=lambda: NOW) as h:
        usage = (await h.send("/search", lang="en"))[0]
        assert "/search query" in usage.plain
        nothing = (await h.send("/search торнадо", lang="en"))[0]
        assert "Nothing found. Try fewer words" in nothing.plain
        assert nothing.buttons == []
        found = (await h.send("/search ветер <b>"))[0]
        assert "🔎 ветер &lt;b&gt;" in found.text
        assert "Ветер &lt;b&gt;&amp; солнце&lt;/b&gt;" in found.text
        hint = (await h.send("/search ветер since:вчера", lang="kk"))[0]
        assert "since түсініксіз" in hint.plain and "Табылды: 1" in hint.plain


async def test_hostile_queries_through_the_bot(sqlite_db: Database) -> None:
    await add_items(sqlite_db, {"title": "Саммит ШОС"})
    async with BotHarness(sqlite_db, clock=lambda: NOW) as h:
        for query in ("ШОС AND (", '"зелён', "C++", "*", "-", "😀", "x" * 5000):
            replies = await h.send(f"/search {query}")
            assert len(replies) == 1 and replies[0].plain.startswith("🔎 "), query
            assert len(replies[0].text) <= 4096
