"""What a user typed is quoted back short: a 5,000-character argument gets a clear answer that
fits Telegram's 4096 characters, never the apology."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram_stub import BotHarness

from bot.config import Settings
from topics import TopicService

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ADMIN = 1
LONG = "ж" * 5000
CUT = "ж" * 99 + "…"


@pytest.fixture
async def service(sqlite_db) -> TopicService:
    service = TopicService(sqlite_db, SEEDS, ner=False)
    await service.load()
    return service


@pytest.mark.parametrize(("command", "starts"), [
    (f"/latest {LONG}", f"I don't know the topic “{CUT}”. Topics: "),
    (f"/topic {LONG}", f"That did not work: unknown topic “{CUT}”. Topics: "),
    (f"/org_alias {LONG} = x", f"I could not find the organisation “{CUT}”."),
    (f"/org_add {LONG} = x", f"Key “{CUT}”: Latin letters"),
    (f"/subscribe {LONG}", f"I could not find {CUT}. "),
    (f"/source_add {LONG}", f"Did not add {CUT}: "),
])
async def test_a_long_argument_is_echoed_short(sqlite_db, service, command, starts) -> None:
    settings = Settings(_env_file=None, admin_ids={ADMIN})
    async with BotHarness(sqlite_db, settings=settings, topic_service=service) as h:
        (reply,) = await h.send(command, chat_id=ADMIN, lang="en")
        assert reply.plain.startswith(starts), reply.plain[:300]
        assert len(reply.plain) < 1000
