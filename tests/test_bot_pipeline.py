"""From local outlets to a subscriber's chat: the real poller, classifier and scheduler,
the digest delivered through the Telegram stand-in at the chat's minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from outlets import OutletServer, outlets_fixture  # noqa: F401
from telegram_stub import BotHarness

from bot.scheduler import Jobs
from feeds import Fetcher, Poller
from storage.models import Source
from storage.sources import insert_source
from topics import TopicService

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DIGEST_AT = datetime(2026, 11, 26, 4, 0, 20, tzinfo=UTC)  # 09:00:20 in Almaty


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_two_outlets_one_story_in_the_morning_digest(
        sqlite_db, outlets: OutletServer) -> None:
    service = TopicService(sqlite_db, SEEDS, ner=False)
    await service.load()
    for name, path in (("Outlet A", "cluster_a.xml"), ("Outlet B", "cluster_b.xml")):
        await insert_source(sqlite_db, Source(name=name, url=outlets.serve(f"/{path}", path)))
    clock = Clock(DIGEST_AT - timedelta(days=1))
    async with BotHarness(sqlite_db, clock=clock, topic_service=service) as h, Fetcher() as f:
        await h.send("/start", chat_id=88, lang="ru")
        poller = Poller(sqlite_db, f, lambda: service.classifier, clock=clock, jitter=0,
                        start_spread=0)
        jobs = Jobs(db=sqlite_db, settings=h.settings, deliverer=h.dp["deliverer"],
                    poller=poller, clock=clock, background=False)
        clock.now = DIGEST_AT - timedelta(hours=2)
        await jobs.poll()
        clock.now = DIGEST_AT
        await jobs.digest()

    digest = h.stub.sent_to(88)[-1].plain
    assert digest.startswith("Дайджест")
    assert digest.count("ветров") == 1  # one story, told by two outlets
    assert "также: Outlet" in digest
    assert "Караганд" not in digest  # road works are off topic
