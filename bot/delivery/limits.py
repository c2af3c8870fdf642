"""Telegram's sending limits, kept by design rather than discovered through 429s.

Overall: evenly spaced sends at `rate` per second (no bursts). Per chat: about one message a
second. Per group or channel: at most 20 a minute. A 429 pauses everything for `retry_after`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class RateLimiter:
    def __init__(
        self,
        rate: float = 25.0,
        *,
        per_chat_interval: float = 1.0,
        group_per_minute: int = 20,
        group_window: float = 60.0,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends before `seconds` from now."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` may go out, and book that slot."""
        while True:
            now = time.monotonic()
            wait = max(self._paused_until, self._chat_next.get(chat_id, 0.0),
                       self._group_ready(chat_id, now)) - now
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        # The chat's own limits are met: book the next global slot (sleeping outside the book).
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        self._chat_next[chat_id] = slot + self.per_chat_interval
        if chat_id < 0:
            sends = self._group_sends.setdefault(chat_id, deque())
            sends.append(slot)
        if slot > now:
            await asyncio.sleep(slot - now)
        if self._paused_until > time.monotonic():
            await asyncio.sleep(self._paused_until - time.monotonic())

    def _group_ready(self, chat_id: int, now: float) -> float:
        sends = self._group_sends.get(chat_id)
        if not sends:
            return 0.0
        while sends and now - sends[0] >= self.group_window:
            sends.popleft()
        return sends[0] + self.group_window if len(sends) >= self.group_per_minute else 0.0
