"""Telegram's sending limits, kept by design rather than discovered through 429s.

Overall: one send every 1/`rate` seconds, taken in turn (FIFO) and timed when it actually
happens, so a stalled event loop never releases a burst afterwards (at most two sends half
an interval apart). Per chat: about one
message a second. Per group or channel: at most 20 a minute. A 429 pauses everybody for
`retry_after`.
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
        self._turn = asyncio.Lock()
        self._next_free = 0.0
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody sends before `seconds` from now."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` may go out now."""
        while True:
            wait = self._chat_wait(chat_id, time.monotonic())
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._book_chat(chat_id, time.monotonic())  # a second row for the chat waits behind
        async with self._turn:
            while True:
                now = time.monotonic()
                wait = max(self._paused_until, self._next_free) - now
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            # Keep the cadence when a wake-up is a little late; after a long stall start
            # afresh (half a gap at most), never with a burst.
            self._next_free = max(now + self.interval / 2, self._next_free + self.interval)

    def _chat_wait(self, chat_id: int, now: float) -> float:
        wait = self._chat_next.get(chat_id, 0.0) - now
        sends = self._group_sends.get(chat_id)
        if sends:
            while sends and now - sends[0] >= self.group_window:
                sends.popleft()
            if len(sends) >= self.group_per_minute:
                wait = max(wait, sends[0] + self.group_window - now)
        return wait

    def _book_chat(self, chat_id: int, now: float) -> None:
        self._chat_next[chat_id] = now + self.per_chat_interval
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
