"""`newsbot search` and `newsbot orgs` print what /search and /org show."""

from __future__ import annotations

import io

from rich.console import Console
from test_search_index import NOW, add_items

from bot.cli.search import print_orgs, print_search
from storage.db import Database


def console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None)


async def test_search_and_orgs_in_the_terminal(sqlite_db: Database) -> None:
    await add_items(sqlite_db, {"title": "Саммит ШОС <в Астане>", "orgs": ["sco"],
                                "topics": {"sco": 0.9}})
    out = console()
    assert await print_search(sqlite_db, "шанхайская ШОС", out, now=NOW, tz="Asia/Almaty") == 0
    out2 = console()
    await print_search(sqlite_db, "ШОС", out2, now=NOW, tz="Asia/Almaty")
    text = out2.file.getvalue()
    assert "Найдено: 1" in text and "1. Саммит ШОС <в Астане>" in text
    assert "Kursiv · 24.11.2026 · #sco" in text
    assert "Ничего не нашлось" in out.file.getvalue()
    out = console()
    await print_orgs(sqlite_db, "", out, now=NOW)
    assert ": 1 sco sco" in " ".join(out.file.getvalue().split())
    out = console()
    await print_orgs(sqlite_db, "sco", out, now=NOW, lang="en", tz="UTC")
    assert "🏢 sco" in out.file.getvalue() and "0 0 0 0 0 0 0 1" in out.file.getvalue()
