"""Sending outbox rows: claim, send part after part, record each, never twice.

Failure handling per part:
- 429 (`TelegramRetryAfter`): everybody pauses `retry_after` seconds, then the part is retried.
- 403 (blocked, kicked) and "chat not found" / deactivated: the chat becomes inactive and the
  row fails with that reason; nothing more is sent there.
- "message is too long": the part is split at item boundaries and the halves are sent.
- a group upgraded to a supergroup (`TelegramMigrateToChat`): the chat's subscription, rows
  and sent items move to the new chat id and the part is sent there.
- network and server errors: a few quick retries with backoff, then the row goes back to the
  queue with `not_before` (growing backoff), and after `max_attempts` it fails with the error.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import LinkPreviewOptions
from sqlalchemy.exc import OperationalError

from bot.delivery.limits import RateLimiter
from bot.digest.render import split_part
from bot.logging_setup import redact
from storage import outbox
from storage.chats import deactivate
from storage.db import Database
from storage.models import Outbox

log = logging.getLogger("newsbot.delivery")

RECORD_TRIES = 6  # each try may itself wait SQLite's busy timeout

# Bad requests that mean the chat is gone for us, not that the message was wrong.
_GONE = ("chat not found", "bot was kicked", "user is deactivated", "have no rights to send",
         "not enough rights", "chat_write_forbidden", "need administrator rights")


@dataclass
class DeliveryReport:
    sent_rows: int = 0
    sent_messages: int = 0
    failed_rows: int = 0
    retried_429: int = 0
    requeued: int = 0

    def add(self, other: DeliveryReport) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class _Retry(Exception):
    """A row goes back to the queue for later (network trouble)."""


class Deliverer:
    """Delivers outbox rows through one Bot under one RateLimiter."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        limiter: RateLimiter,
        *,
        clock: Callable[[], datetime],
        concurrency: int = 32,
        network_retries: int = 3,
        backoff: float = 1.0,
        max_attempts: int = 5,
        worker: str | None = None,
    ) -> None:
        self.db, self.bot, self.limiter, self.clock = db, bot, limiter, clock
        self.concurrency = concurrency
        self.network_retries = network_retries
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._lock = asyncio.Lock()
        self._claims = itertools.count(1)
        self._background: asyncio.Task[DeliveryReport] | None = None

    async def deliver_rows(self, row_ids: Sequence[int]) -> DeliveryReport:
        """Claim and send exactly these rows now (e.g. the one `/digest` just planned)."""
        rows = await outbox.claim(self.db, self._claim_id(), self.clock(), limit=len(row_ids),
                                  row_ids=row_ids)
        return await self._send_all(rows)

    async def deliver_pending(self, *, batch: int = 500) -> DeliveryReport:
        """Send every due pending row, batch after batch, until none is left. If a run is
        already going on in this process it will pick up new rows too: return at once."""
        report = DeliveryReport()
        if self._lock.locked():
            return report
        async with self._lock:
            while rows := await outbox.claim(self.db, self._claim_id(), self.clock(), limit=batch):
                report.add(await self._send_all(rows))
        return report

    def in_background(self) -> asyncio.Task[DeliveryReport]:
        """A background run of `deliver_pending` (the current one if it is still going)."""
        if self._background is None or self._background.done():
            self._background = asyncio.create_task(self.deliver_pending(), name="delivery")
            self._background.add_done_callback(_log_crash)
        return self._background

    async def stop(self) -> None:
        """Stop a background run; rows it was sending resume from their next part later."""
        if self._background is not None and not self._background.done():
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)

    def _claim_id(self) -> str:
        """Unique per claim, so a row requeued and re-claimed is never written by its old
        holder (which stops at its next write: ClaimLost)."""
        return f"{self.worker}#{next(self._claims)}"

    async def requeue_stale(self, older_than: timedelta = timedelta(minutes=2)) -> int:
        """Resume rows a dead worker left half-sent (they continue at their next part);
        this deliverer's own rows are never taken from it."""
        return await outbox.requeue_stale(self.db, self.clock() - older_than, keep=self.worker)

    async def _send_all(self, rows: Sequence[Outbox]) -> DeliveryReport:
        report = DeliveryReport()
        queue: asyncio.Queue[Outbox] = asyncio.Queue()
        for row in rows:
            queue.put_nowait(row)

        async def work() -> None:
            while not queue.empty():
                row = queue.get_nowait()
                report.add(await self._send_row(row))

        await asyncio.gather(*(work() for _ in range(min(self.concurrency, len(rows)))))
        return report

    async def _send_row(self, row: Outbox) -> DeliveryReport:
        report = DeliveryReport()
        try:
            await self._deliver_row(row, report)
        except outbox.ClaimLost:
            log.warning("outbox %s was taken over by another worker; leaving it", row.id)
        except Exception:  # even the failure could not be stored: the row resumes when stale
            log.exception("outbox %s to chat %s: left for a later run", row.id, row.chat_id)
        return report

    async def _deliver_row(self, row: Outbox, report: DeliveryReport) -> None:
        await outbox.touch(self.db, row, self.clock())  # a batch may wait: say we are alive
        try:
            while row.parts_sent < len(row.parts):
                message_id = await self._send_part(row, report)
                if message_id is None:  # the part was split; send the new first half
                    continue
                await self._record(row, message_id)
                report.sent_messages += 1
            report.sent_rows += 1
        except TelegramForbiddenError as error:
            await self._gone(row, error.message, report)
        except TelegramBadRequest as error:
            if _is_gone(error.message):
                await self._gone(row, error.message, report)
            else:
                log.error("outbox %s to chat %s refused: %s", row.id, row.chat_id, error.message)
                await self._fail(row, f"bad request: {error.message}")
                report.failed_rows += 1
        except TelegramAPIError as error:
            log.error("outbox %s to chat %s failed: %s", row.id, row.chat_id, error.message)
            await self._fail(row, f"{type(error).__name__}: {error.message}")
            report.failed_rows += 1
        except _Retry as retry:
            await self._retry_later(row, str(retry), report)
        except outbox.ClaimLost:
            raise
        except Exception as error:  # a bug or the store: keep the row, try again later
            log.exception("outbox %s to chat %s: unexpected error", row.id, row.chat_id)
            await self._retry_later(row, f"{type(error).__name__}: {error}", report)

    async def _record(self, row: Outbox, message_id: int) -> None:
        """The part is out: its record must be stored (a restart would send it again
        otherwise), so a busy or briefly unreachable store is waited for."""
        for attempt in range(RECORD_TRIES):
            try:
                await outbox.record_part(self.db, row, message_id, self.clock())
                return
            except OperationalError:
                if attempt == RECORD_TRIES - 1:
                    raise
                log.warning("outbox %s: recording part %d failed, retrying", row.id,
                            row.parts_sent + 1, exc_info=True)
                await asyncio.sleep(self.backoff * 2**attempt)

    async def _retry_later(self, row: Outbox, error: str, report: DeliveryReport) -> None:
        """Back to the queue with a growing delay, or failed once out of attempts."""
        if row.attempts >= self.max_attempts:
            await self._fail(row, f"gave up after {row.attempts} tries: {error}")
            report.failed_rows += 1
        else:
            delay = outbox.retry_delay(row.attempts, self.backoff * 30)
            await outbox.release(self.db, row, redact(error), self.clock() + delay)
            report.requeued += 1

    async def _send_part(self, row: Outbox, report: DeliveryReport) -> int | None:
        """Send the row's next part; its message id, or None if it had to be split."""
        text = row.parts[row.parts_sent]
        failures, migrated = 0, False
        while True:
            await self.limiter.acquire(row.chat_id)
            try:
                message = await self.bot.send_message(
                    row.chat_id, text, link_preview_options=LinkPreviewOptions(is_disabled=True)
                )
                return message.message_id
            except TelegramMigrateToChat as error:
                if migrated:  # the new chat moved again at once: something is off
                    raise
                migrated = True
                log.info("chat %s became supergroup %s: subscription moved", row.chat_id,
                         error.migrate_to_chat_id)
                stayed = await outbox.move_chat(self.db, row.chat_id, error.migrate_to_chat_id)
                if row.id in stayed:  # the supergroup already has this period's message
                    raise
                row.chat_id = error.migrate_to_chat_id
            except TelegramRetryAfter as error:
                report.retried_429 += 1
                log.warning("429 for chat %s: waiting %s s", row.chat_id, error.retry_after)
                self.limiter.pause(error.retry_after)
            except TelegramBadRequest as error:
                if "too long" not in error.message.lower():
                    raise
                halves = split_part(text)
                if len(halves) < 2:
                    raise
                await outbox.replace_parts(self.db, row, halves + row.parts[row.parts_sent + 1:])
                return None
            except (TelegramNetworkError, TelegramServerError) as error:
                failures += 1
                if failures > self.network_retries:
                    raise _Retry(f"{type(error).__name__}: {error.message}") from error
                await asyncio.sleep(self.backoff * 2 ** (failures - 1))

    async def _gone(self, row: Outbox, reason: str, report: DeliveryReport) -> None:
        log.info("chat %s is gone (%s): no more sending there", row.chat_id, reason)
        await deactivate(self.db, row.chat_id, reason)
        await self._fail(row, f"chat inactive: {reason}")
        report.failed_rows += 1

    async def _fail(self, row: Outbox, error: str) -> None:
        """Mark the row failed, keeping the error for admins without any token in it."""
        await outbox.fail(self.db, row, redact(error))


def _log_crash(task: asyncio.Task[DeliveryReport]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("delivery run failed", exc_info=task.exception())


def _is_gone(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _GONE)
