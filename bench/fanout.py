"""Fan-out benchmark: a digest to every one of N subscribed chats through the Telegram
stand-in limited to 30 messages/s overall (429 with retry_after above that).

Runs the scheduler's digest tick (an outbox row per chat, planned a hundred at a time while
the bot's Deliverer and RateLimiter already send), and prints messages/s (first to last
message), 429s, duplicates and losses (both must be 0) and wall time. A full 10,000 chats
at 30/s takes about 5.5 minutes.

    .venv/bin/python bench/fanout.py                  # 10,000 chats
    .venv/bin/python bench/fanout.py --chats 1000     # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pydantic import SecretStr  # noqa: E402
from sqlmodel import select  # noqa: E402
from telegram_stub import TOKEN, TelegramStub, add_item, add_topics  # noqa: E402

from bot.app import create_bot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery import Deliverer, RateLimiter  # noqa: E402
from bot.scheduler import Jobs  # noqa: E402
from storage.db import Database, upgrade  # noqa: E402
from storage.models import Chat, Outbox  # noqa: E402

DUE = datetime(2026, 11, 25, 4, 0, 30, tzinfo=UTC)  # 09:00:30 in Almaty


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/fanout.db"
        await upgrade(url)
        db = Database(url)
        try:
            return await _run(db, args)
        finally:
            await db.dispose()


async def _run(db: Database, args: argparse.Namespace) -> int:
    await add_topics(db)
    for i in range(args.items):
        await add_item(db, f"Новость {i}: солнечная и ветровая генерация", score=0.5 + i / 100,
                       fetched_at=DUE - timedelta(hours=3, minutes=i))
    async with db.session() as session:
        session.add_all(Chat(id=100_000 + i, created_at=DUE - timedelta(days=1))
                        for i in range(args.chats))
        await session.commit()

    async with TelegramStub(rate_limit=args.limit) as stub:
        settings = Settings(_env_file=None, bot_token=SecretStr(TOKEN),
                            telegram_api_base=stub.url, send_rate_per_second=args.rate)
        bot = create_bot(settings)
        deliverer = Deliverer(db, bot, RateLimiter(args.rate), clock=lambda: DUE,
                              concurrency=args.concurrency)
        jobs = Jobs(db=db, settings=settings, deliverer=deliverer, clock=lambda: DUE,
                    background=False)

        started = time.monotonic()
        await jobs.digest()  # the 09:00 tick: plan a hundred at a time, sending meanwhile
        wall = time.monotonic() - started
        await bot.session.close()

    per_chat = Counter(int(s.chat_id) for s in stub.sent)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    losses = sum(1 for i in range(args.chats) if per_chat[100_000 + i] == 0)
    async with db.session() as session:
        statuses = Counter(r.status for r in (await session.exec(select(Outbox))).all())
    sending = stub.sent[-1].at - stub.sent[0].at if len(stub.sent) > 1 else 0.0
    rate = (len(stub.sent) - 1) / sending if sending else 0.0
    print(f"chats {args.chats}, stand-in limit {args.limit:g}/s, bot rate {args.rate:g}/s, "
          f"concurrency {args.concurrency}")
    print(f"messages sent   {len(stub.sent)}")
    print(f"messages/s      {rate:.2f} ({rate / args.limit:.0%} of the limit)")
    print(f"429s received   {stub.rejected_429}")
    print(f"duplicates      {duplicates}")
    print(f"losses          {losses}")
    print(f"outbox rows     {dict(statuses)}")
    print(f"wall time       {wall:.1f} s from the tick to the last message "
          f"(first after {stub.sent[0].at - started:.1f} s)")
    return 0 if duplicates == 0 and losses == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=8, help="stories in each digest")
    parser.add_argument("--limit", type=float, default=30.0,
                        help="the stand-in's overall limit, messages/s")
    parser.add_argument("--rate", type=float, default=29.0,
                        help="the bot's SEND_RATE_PER_SECOND for the run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", help="default: a throw-away SQLite file")
    sys.exit(asyncio.run(main(parser.parse_args())))
