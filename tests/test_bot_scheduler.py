"""Scheduled jobs through the Telegram stand-in: instant alerts and failing-outlet notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram_stub import BotHarness, add_item, add_topics

from bot.config import Settings
from bot.scheduler import Jobs, create_scheduler
from storage.chats import update_chat
from storage.models import Source

NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def _jobs(h: BotHarness) -> Jobs:
    return Jobs(db=h.db, settings=h.settings, deliverer=h.dp["deliverer"], clock=h.clock,
                background=False)


async def test_instant_alerts_for_high_scoring_items_once(sqlite_db) -> None:
    await add_topics(sqlite_db)
    now = [NOW - timedelta(hours=1)]
    async with BotHarness(sqlite_db, clock=lambda: now[0]) as h:
        await h.send("/start", chat_id=70, lang="en")
        await h.send("/start", chat_id=71, lang="en")  # daily only: no alerts
        await update_chat(sqlite_db, 70, frequency="instant")
        now[0] = NOW
        h.stub.sent.clear()
        await add_item(sqlite_db, "Astana SCO summit agrees on a green energy <pact>",
                       topic="sco", score=0.93, fetched_at=NOW - timedelta(minutes=3))
        await add_item(sqlite_db, "A minor note", score=0.55,
                       fetched_at=NOW - timedelta(minutes=3))

        await _jobs(h).alerts()
        (alert,) = h.stub.sent
        assert alert.chat_id == 70 and alert.plain.startswith("⚡ Important")
        assert "green energy <pact>" in alert.plain and "SCO" in alert.plain
        await _jobs(h).alerts()
        assert len(h.stub.sent) == 1


async def test_admins_hear_about_an_outlet_failing_for_a_day(sqlite_db) -> None:
    settings = Settings(_env_file=None, admin_ids={5})
    async with BotHarness(sqlite_db, settings=settings, clock=lambda: NOW) as h:
        async with sqlite_db.session() as session:
            session.add(Source(name="Zakon <kz>", url="https://zakon.kz/rss", error_count=30,
                               last_error="HTTP 503", first_failure_at=NOW - timedelta(hours=25)))
            session.add(Source(name="Fresh failure", url="https://x.kz/rss", error_count=1,
                               first_failure_at=NOW - timedelta(hours=2)))
            await session.commit()
        assert await _jobs(h).failing_outlets() == 1
        (notice,) = h.stub.sent_to(5)
        assert "Zakon <kz>" in notice.plain and "HTTP 503" in notice.plain
        assert "Zakon &lt;kz&gt;" in notice.text and "/source_pause 1" in notice.plain
        assert await _jobs(h).failing_outlets() == 0
        assert len(h.stub.sent_to(5)) == 1


async def test_scheduler_has_every_job(sqlite_db) -> None:
    async with BotHarness(sqlite_db) as h:
        scheduler = create_scheduler(jobs=_jobs(h), settings=h.settings)
        assert {job.id for job in scheduler.get_jobs()} == {
            "poll", "digest", "alerts", "outbox", "failing"}


async def test_jobs_deliver_in_the_background(sqlite_db) -> None:
    await add_topics(sqlite_db)
    now = [NOW - timedelta(days=1)]
    async with BotHarness(sqlite_db, clock=lambda: now[0]) as h:
        for chat_id in (91, 92, 93):
            await h.send("/start", chat_id=chat_id)
        h.stub.sent.clear()
        await add_item(sqlite_db, "Ветровая станция", fetched_at=NOW - timedelta(hours=3))
        now[0] = NOW  # 12:00 in Almaty: the 09:00 digest is due
        jobs = Jobs(db=h.db, settings=h.settings, deliverer=h.dp["deliverer"], clock=h.clock)
        await jobs.digest()  # returns once the rows are planned
        run = h.dp["deliverer"].in_background()
        assert h.dp["deliverer"].in_background() is run  # one run at a time
        await run
        assert sorted(s.chat_id for s in h.stub.sent) == [91, 92, 93]
