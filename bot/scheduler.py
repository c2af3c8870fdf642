"""Background jobs in the bot's process (APScheduler's AsyncIOScheduler).

- poll: outlets that are due, every POLL_TICK_SECONDS;
- digest: every minute, plan digests whose local time has come, then deliver;
- alerts: every minute, instant alerts for high-scoring items;
- outbox: every 15 s, deliver what is pending (retries included) and resume stale rows;
- failing outlets: every 30 min, tell admins about outlets failing for a day.
Each job is a method of :class:`Jobs`, which tests call directly with an injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.delivery import Deliverer
from bot.digest.build import due_chats, due_period, plan_alerts, plan_digests
from bot.html import esc
from bot.i18n import t
from storage import outbox
from storage.chats import active_chats, chat_lang, ensure_chat
from storage.db import Database

log = logging.getLogger("newsbot.scheduler")

FAILING_FOR = timedelta(days=1)
PLAN_BATCH = 100  # digests planned before delivery is (re)started


class Jobs:
    """The scheduled work, with its dependencies; every method is one tick."""

    def __init__(self, *, db: Database, settings: Settings, deliverer: Deliverer,
                 poller: Any = None, clock: Callable[[], datetime],
                 background: bool = True) -> None:
        self.db, self.settings, self.deliverer = db, settings, deliverer
        self.poller, self.clock = poller, clock
        self.background = background

    async def _deliver(self) -> None:
        """Send what is pending. In the background by default, so a job stays short however
        long a fan-out takes; `background=False` (tests) waits until nothing is pending."""
        run = self.deliverer.in_background()
        if not self.background:
            await run
            await self.deliverer.deliver_pending()  # rows planned as that run was ending

    async def poll(self) -> None:
        if self.poller is not None:
            summary = await self.poller.poll_due(self.clock())
            if summary.outcomes:
                log.info("polled %d outlets: %d new items, %d failed", len(summary.outcomes),
                         summary.new, summary.failed)

    async def plan_digests(self, *, deliver: bool = False) -> int:
        """Write the outbox rows of every digest that is due now, `PLAN_BATCH` chats at a
        time; with `deliver`, sending starts after the first batch. Returns how many."""
        now = self.clock()
        chats = await active_chats(self.db, ("daily", "weekly", "instant"))
        periods = {found[0] for chat in chats if (found := due_period(chat, now))}
        planned_before = await outbox.planned_periods(self.db, "digest", list(periods))
        dues = due_chats(chats, now, planned_before)
        planned = 0
        for start in range(0, len(dues), PLAN_BATCH):
            rows = await plan_digests(self.db, dues[start : start + PLAN_BATCH], kind="digest",
                                      now=now)
            planned += sum(row is not None for row in rows)
            if deliver:
                self.deliverer.in_background()
        return planned

    async def digest(self) -> None:
        if await self.plan_digests(deliver=True):
            await self._deliver()

    async def alerts(self) -> None:
        chats = await active_chats(self.db, ("instant",))
        if chats and await plan_alerts(self.db, chats, self.clock()):
            await self._deliver()

    async def outbox(self) -> None:
        await self.deliverer.requeue_stale()
        await self._deliver()

    async def failing_outlets(self) -> int:
        """One notice per failing outlet to every admin; then the outlet counts as told."""
        from feeds import failing_sources, mark_failure_notified

        now = self.clock()
        sources = await failing_sources(self.db, FAILING_FOR, now)
        if not sources or not self.settings.admin_ids:
            return 0
        for admin in self.settings.admin_ids:
            await ensure_chat(self.db, admin, now)
            lang = await chat_lang(self.db, admin) or "ru"
            async with self.db.session() as session:
                for source in sources:
                    text = t("sources.failing", lang, name=esc(source.name), id=source.id,
                             error=esc(source.last_error or "?"),
                             since=f"{source.first_failure_at or now:%d.%m %H:%M} UTC")
                    streak = source.first_failure_at or now
                    await outbox.plan(session, chat_id=admin, kind="notice",
                                      period=f"source-{source.id}-{streak:%Y%m%dT%H%M%S}",
                                      parts=[text], item_ids=[], sent_item_ids=[], now=now)
                await session.commit()
        await mark_failure_notified(self.db, [s.id for s in sources if s.id is not None], now)
        await self._deliver()
        return len(sources)


def create_scheduler(*, jobs: Jobs, settings: Settings) -> AsyncIOScheduler:
    """The jobs on their triggers; a job never overlaps itself, missed runs are merged."""
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(jobs.poll, IntervalTrigger(seconds=settings.poll_tick_seconds),
                      id="poll", next_run_time=jobs.clock())
    scheduler.add_job(jobs.digest, CronTrigger(second=5), id="digest")
    scheduler.add_job(jobs.alerts, CronTrigger(second=35), id="alerts")
    scheduler.add_job(jobs.outbox, IntervalTrigger(seconds=15), id="outbox",
                      next_run_time=jobs.clock())
    scheduler.add_job(jobs.failing_outlets, IntervalTrigger(minutes=30), id="failing")
    return scheduler
