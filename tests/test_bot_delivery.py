"""Outbox delivery through the Telegram stand-in: 429s, blocked chats, network trouble, a kill
in the middle of a run, and atomic claiming on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from telegram_stub import TOKEN, TelegramStub

from bot.app import create_bot
from bot.config import Settings
from bot.delivery import Deliverer, RateLimiter
from storage import outbox
from storage.chats import get_chat
from storage.models import Chat, Outbox

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


async def _rows(db, parts_by_chat: dict[int, list[str]], kind: str = "digest") -> list[int]:
    """Subscribed chats with one planned row each."""
    ids = []
    async with db.session() as session:
        for chat_id in parts_by_chat:
            session.add(Chat(id=chat_id, created_at=NOW))
        await session.flush()
        for chat_id, parts in parts_by_chat.items():
            row = await outbox.plan(session, chat_id=chat_id, kind=kind, period="2026-11-25",
                                    parts=parts, item_ids=[], sent_item_ids=[], now=NOW)
            assert row is not None
            ids.append(row.id)
        await session.commit()
    return ids


async def _statuses(db) -> dict[int, Outbox]:
    async with db.session() as session:
        return {r.chat_id: r for r in (await session.exec(select(Outbox))).all()}


def _deliverer(db, stub: TelegramStub, **kwargs) -> Deliverer:
    settings = Settings(_env_file=None, bot_token=TOKEN, telegram_api_base=stub.url)
    limiter = RateLimiter(200, per_chat_interval=kwargs.pop("per_chat", 0.0))
    return Deliverer(db, create_bot(settings), limiter, clock=lambda: NOW, **kwargs)


def _texts(stub: TelegramStub) -> list[tuple[int | str, str]]:
    return [(s.chat_id, s.text) for s in stub.sent]


async def test_429_in_the_middle_waits_and_loses_nothing(sqlite_db) -> None:
    async with TelegramStub() as stub:
        await _rows(sqlite_db, {c: [f"digest {c}"] for c in range(1, 7)})
        stub.retry_after_next(1, skip=3)
        deliverer = _deliverer(sqlite_db, stub, concurrency=2)
        report = await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    assert report.retried_429 == 1 and report.sent_rows == 6
    assert sorted(_texts(stub)) == sorted((c, f"digest {c}") for c in range(1, 7))
    assert all(r.status == "sent" for r in (await _statuses(sqlite_db)).values())


async def test_blocked_and_missing_chats_become_inactive(sqlite_db) -> None:
    async with TelegramStub() as stub:
        await _rows(sqlite_db, {1: ["a"], 2: ["b"], 3: ["c"]})
        stub.block(1)
        stub.forget(2)
        deliverer = _deliverer(sqlite_db, stub)
        report = await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    assert _texts(stub) == [(3, "c")]
    assert report.failed_rows == 2
    rows = await _statuses(sqlite_db)
    assert rows[1].status == "failed" and "blocked" in rows[1].error
    assert rows[2].status == "failed" and "chat not found" in rows[2].error
    assert not (await get_chat(sqlite_db, 1)).active
    assert (await get_chat(sqlite_db, 2)).inactive_reason == "Bad Request: chat not found"
    assert (await get_chat(sqlite_db, 3)).active


async def test_network_errors_retry_then_fail_with_the_error(sqlite_db) -> None:
    async with TelegramStub() as stub:
        await _rows(sqlite_db, {1: ["a"]})
        stub.fail_next("sendMessage", 502, "Bad Gateway", times=2)
        deliverer = _deliverer(sqlite_db, stub, backoff=0.01, network_retries=3, max_attempts=2)
        await deliverer.deliver_pending()
        assert _texts(stub) == [(1, "a")]  # two quick retries were enough

        await _rows(sqlite_db, {2: ["b"]})
        stub.fail_next("sendMessage", 502, "Bad Gateway", times=100)
        report = await deliverer.deliver_pending()
        assert report.requeued == 1
        row = (await _statuses(sqlite_db))[2]
        assert row.status == "pending" and "Bad Gateway" in row.error and row.not_before > NOW
        deliverer.clock = lambda: NOW + timedelta(hours=1)
        report = await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    row = (await _statuses(sqlite_db))[2]
    assert report.failed_rows == 1 and row.status == "failed" and "Bad Gateway" in row.error


async def test_kill_during_a_run_then_restart_sends_everything_once(sqlite_db) -> None:
    parts = {c: [f"chat {c} part {p}" for p in range(3)] for c in (1, 2)}
    async with TelegramStub() as stub:
        await _rows(sqlite_db, parts)
        first = _deliverer(sqlite_db, stub, per_chat=0.5)
        run = asyncio.create_task(first.deliver_pending())
        await stub.wait_sent(count=2)  # the first part of each chat is out ...
        await asyncio.sleep(0.2)  # ... and recorded; both workers wait for the next slot
        run.cancel()  # the process dies
        await asyncio.gather(run, return_exceptions=True)
        await first.bot.session.close()
        assert len(stub.sent) == 2
        assert {r.status for r in (await _statuses(sqlite_db)).values()} == {"sending"}

        second = _deliverer(sqlite_db, stub)  # the restarted process
        assert await second.requeue_stale(older_than=timedelta(0)) == 2
        await second.deliver_pending()
        await second.bot.session.close()
    expected = sorted((c, text) for c, texts in parts.items() for text in texts)
    assert sorted(_texts(stub)) == expected  # no duplicate, no loss
    for chat_id in (1, 2):
        assert [s.plain for s in stub.sent_to(chat_id)] == parts[chat_id]  # in order
    rows = await _statuses(sqlite_db)
    assert all(r.status == "sent" and r.parts_sent == 3 and len(r.message_ids) == 3
               for r in rows.values())


async def test_claims_are_atomic_and_disjoint(db) -> None:
    await _rows(db, {c: ["x"] for c in range(1, 41)})
    claims = await asyncio.gather(*(outbox.claim(db, f"w{i}", NOW, limit=15) for i in range(4)))
    ids = [row.id for claim in claims for row in claim]
    assert all(len(claim) <= 15 for claim in claims)  # never more than asked
    assert len(ids) == 40 and len(set(ids)) == 40
    assert await outbox.claim(db, "late", NOW) == []


async def test_planning_is_idempotent_and_retries_wait_their_turn(db) -> None:
    (row_id,) = await _rows(db, {5: ["a", "b"]})
    async with db.session() as session:
        again = await outbox.plan(session, chat_id=5, kind="digest", period="2026-11-25",
                                  parts=["other"], item_ids=[], sent_item_ids=[], now=NOW)
        await session.commit()
    assert again is None
    (row,) = await outbox.claim(db, "w", NOW)
    await outbox.record_part(db, row, 101, NOW)
    await outbox.release(db, row, "network", NOW + timedelta(minutes=1))
    assert await outbox.claim(db, "w", NOW) == []
    (row,) = await outbox.claim(db, "w", NOW + timedelta(minutes=1))
    assert row.id == row_id and row.parts_sent == 1 and row.message_ids == [101]
    await outbox.record_part(db, row, 102, NOW)
    assert (await _statuses(db))[5].status == "sent"


async def test_rate_limiter_spaces_sends_per_chat_and_per_group() -> None:
    limiter = RateLimiter(1000, per_chat_interval=0.2, group_per_minute=3, group_window=0.6)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(3):
        await limiter.acquire(7)  # a private chat: one send per 0.2 s
    assert loop.time() - start >= 0.4

    start = loop.time()
    stamps = []
    for _ in range(4):
        await limiter.acquire(-100)  # a group: 3 per 0.6 s window
        stamps.append(loop.time() - start)
    assert stamps[3] >= 0.6 > stamps[2]

    limiter.pause(0.3)  # a 429 stops everybody
    start = loop.time()
    await limiter.acquire(8)
    assert loop.time() - start >= 0.29


async def test_a_row_taken_over_is_never_written_by_its_old_holder(db) -> None:
    await _rows(db, {6: ["a", "b"]})
    (old,) = await outbox.claim(db, "A#1", NOW)
    assert await outbox.requeue_stale(db, NOW) == 1  # A looked dead
    (new,) = await outbox.claim(db, "B#1", NOW)
    with pytest.raises(outbox.ClaimLost):
        await outbox.record_part(db, old, 1, NOW)
    await outbox.record_part(db, new, 2, NOW)
    row = (await _statuses(db))[6]
    assert row.parts_sent == 1 and row.message_ids == [2] and row.claimed_by == "B#1"


async def test_requeue_leaves_the_callers_own_claims(db) -> None:
    await _rows(db, {7: ["a"], 8: ["b"]})
    assert len(await outbox.claim(db, "me#1", NOW, limit=1)) == 1
    assert len(await outbox.claim(db, "dead#3", NOW, limit=1)) == 1
    assert await outbox.requeue_stale(db, NOW, keep="me") == 1
    rows = await _statuses(db)
    assert (rows[7].status, rows[8].status) == ("sending", "pending")


async def test_two_instances_never_send_the_same_row(db) -> None:
    async with TelegramStub() as stub:
        await _rows(db, {c: [f"only once {c}"] for c in range(1, 31)})
        first, second = _deliverer(db, stub), _deliverer(db, stub)
        reports = await asyncio.gather(first.deliver_pending(batch=4),
                                       second.deliver_pending(batch=4))
        for deliverer in (first, second):
            await deliverer.bot.session.close()
    assert sorted(_texts(stub)) == sorted((c, f"only once {c}") for c in range(1, 31))
    assert all(report.sent_rows > 0 for report in reports)  # both took part


async def test_a_busy_store_is_waited_for_after_a_send(sqlite_db, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    real = outbox.record_part
    failures = [OperationalError("UPDATE outbox", {}, Exception("database is locked"))] * 2

    async def flaky(*args, **kwargs):
        if failures:
            raise failures.pop()
        await real(*args, **kwargs)

    monkeypatch.setattr(outbox, "record_part", flaky)
    async with TelegramStub() as stub:
        await _rows(sqlite_db, {1: ["a", "b"]})
        deliverer = _deliverer(sqlite_db, stub, backoff=0.01)
        await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    assert _texts(stub) == [(1, "a"), (1, "b")]  # nothing sent twice
    row = (await _statuses(sqlite_db))[1]
    assert row.status == "sent" and row.parts_sent == 2


async def test_a_group_upgraded_to_a_supergroup_gets_its_messages_there(db) -> None:
    from telegram_stub import add_item

    from storage.models import SentItem

    item = await add_item(db, "Wind farm", fetched_at=NOW)
    async with db.session() as session:
        session.add(Chat(id=-100, type="group", lang="kk", topics=["green"], created_at=NOW))
        await session.flush()
        for kind in ("digest", "alert"):
            await outbox.plan(session, chat_id=-100, kind=kind, period="2026-11-25",
                              parts=[f"{kind} text"], item_ids=[item],
                              sent_item_ids=[item] if kind == "digest" else [], now=NOW)
        await session.commit()
    async with TelegramStub() as stub:
        stub.migrate(-100, -100200)
        deliverer = _deliverer(db, stub, concurrency=2)
        report = await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    assert sorted(_texts(stub)) == [(-100200, "alert text"), (-100200, "digest text")]
    assert report.sent_rows == 2 and report.failed_rows == 0
    async with db.session() as session:
        rows = (await session.exec(select(Outbox))).all()
        sent = (await session.exec(select(SentItem.chat_id, SentItem.item_id))).all()
    assert {(r.chat_id, r.status) for r in rows} == {(-100200, "sent")}
    assert (-100200, item) in sent
    new, old = await get_chat(db, -100200), await get_chat(db, -100)
    assert new.active and new.lang == "kk" and new.topics == ["green"]
    assert new.type == "supergroup"
    assert not old.active and old.inactive_reason == "migrated to -100200"


async def test_a_migrated_groups_row_the_supergroup_already_has_is_not_sent_twice(
        sqlite_db) -> None:
    await _rows(sqlite_db, {-300: ["old group digest"], -300400: ["supergroup digest"]})
    async with TelegramStub() as stub:
        stub.migrate(-300, -300400)
        deliverer = _deliverer(sqlite_db, stub, concurrency=1)
        report = await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    assert _texts(stub) == [(-300400, "supergroup digest")]
    assert report.failed_rows == 1 and report.sent_rows == 1
    rows = await _statuses(sqlite_db)
    assert rows[-300].status == "failed" and "upgraded to a supergroup" in rows[-300].error
