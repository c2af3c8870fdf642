"""A poll killed or cancelled half-way loses nothing committed and duplicates nothing after."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from outlets import OutletServer, classifier, huge_item, outlets_fixture, rss  # noqa: F401
from sqlalchemy import func
from sqlmodel import select

import storage.items
from feeds import Fetcher, Poller
from storage.db import Database
from storage.models import Item, Source
from storage.sources import get_source, insert_source

ITEMS = 60
ROOT = Path(__file__).resolve().parent.parent

# The child polls once with small store batches, each slowed down, so it can be killed
# half-way through the feed.
CHILD = """
import asyncio, sys
import storage.items
from feeds import Fetcher, Poller
from storage.db import Database
from topics import load_classifier

real = storage.items.index_items

async def slow(session, items):
    await asyncio.sleep(0.2)
    await real(session, items)

storage.items.index_items = slow
storage.items.BATCH = 10

async def main():
    db = Database(sys.argv[1])
    classifier = load_classifier(sys.argv[2], ner=False)
    async with Fetcher() as fetcher:
        await Poller(db, fetcher, lambda: classifier).poll_all()

asyncio.run(main())
"""


async def count(db: Database) -> tuple[int, int]:
    """(items, distinct guid keys)."""
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Item))).one()
        distinct = (await session.exec(select(func.count(func.distinct(Item.guid_key))))).one()
    return total, distinct


async def wait_for_items(db: Database, at_least: int) -> int:
    """Poll the store (the writer is another task or process) until `at_least` items."""
    for _ in range(1500):  # 30 s
        stored, _ = await count(db)
        if stored >= at_least:
            return stored
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} items stored in 30 s")


async def feed_source(db: Database, outlets: OutletServer) -> Source:
    url = outlets.serve("/big.xml", body=rss([huge_item(n) for n in range(ITEMS)]))
    source = await insert_source(db, Source(name="Big", url=url))
    assert source is not None
    return source


async def repoll_completes(db: Database, source: Source, already: int) -> None:
    async with Fetcher() as fetcher:
        summary = await Poller(db, fetcher, classifier).poll_all()
    assert (summary.ok, summary.new, summary.duplicate) == (1, ITEMS - already, already)
    assert await count(db) == (ITEMS, ITEMS)
    assert (await get_source(db, source.id)).items_total == ITEMS - already


async def test_killed_poll_resumes_without_loss_or_duplicates(
        db: Database, outlets: OutletServer) -> None:
    source = await feed_source(db, outlets)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, db.url, str(ROOT / "seeds"), cwd=ROOT, env=env)
    try:
        await wait_for_items(db, 10)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    stored, distinct = await count(db)
    assert 10 <= stored < ITEMS and stored % 10 == 0 and distinct == stored
    killed = await get_source(db, source.id)
    assert killed.etag is None and killed.last_success_at is None  # the poll never finished
    await repoll_completes(db, source, stored)


async def test_cancelled_poll_resumes_without_loss_or_duplicates(
        db: Database, outlets: OutletServer, monkeypatch: pytest.MonkeyPatch) -> None:
    source = await feed_source(db, outlets)
    real = storage.items.index_items

    async def slow(session, items) -> None:
        await asyncio.sleep(0.1)
        await real(session, items)

    monkeypatch.setattr(storage.items, "index_items", slow)
    monkeypatch.setattr(storage.items, "BATCH", 10)
    async with Fetcher() as fetcher:
        task = asyncio.create_task(Poller(db, fetcher, classifier).poll_all())
        await wait_for_items(db, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    monkeypatch.setattr(storage.items, "index_items", real)
    stored, distinct = await count(db)
    assert 10 <= stored < ITEMS and stored % 10 == 0 and distinct == stored
    await repoll_completes(db, source, stored)
