"""`newsbot run` without a token and `newsbot digest` in the terminal."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest
from telegram_stub import add_item, add_topics

from bot.cli import digest as digest_cli
from bot.cli import run as run_cli
from bot.config import Settings

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_run_without_a_token_explains_and_exits_2(monkeypatch, capsys) -> None:
    monkeypatch.setattr(run_cli, "get_settings", lambda: Settings(_env_file=None, bot_token=""))
    assert run_cli._run(argparse.Namespace()) == 2
    err = capsys.readouterr().err
    assert "@BotFather" in err and "BOT_TOKEN=" in err and ".env" in err and "make demo" in err


@pytest.mark.parametrize("lang", ["en"])
async def test_digest_prints_the_plain_text_digest(sqlite_db, lang) -> None:
    await add_topics(sqlite_db)
    await add_item(sqlite_db, "Wind farm <100 MW>", fetched_at=NOW - timedelta(hours=2),
                   url="https://kursiv.kz/wind")
    await add_item(sqlite_db, "Old news", fetched_at=NOW - timedelta(days=2))
    text = await digest_cli.digest_text(sqlite_db.url, chat_id=None, hours=24, lang=lang,
                                        now=NOW)
    assert text.splitlines()[0] == "Digest · 24.11 11:00 — 25.11 11:00"
    assert "Green development" in text
    assert "1. Wind farm <100 MW> <https://kursiv.kz/wind> — Kursiv, 09:00" in text
    assert "Old news" not in text and "<a href" not in text

    text = await digest_cli.digest_text(sqlite_db.url, chat_id=None, hours=1, lang=lang,
                                        now=NOW)
    assert text == "Nothing new since 25.11 10:00. Look again later or try /latest."
    text = await digest_cli.digest_text(sqlite_db.url, chat_id=404, hours=1, lang=lang, now=NOW)
    assert "No chat 404" in text
