"""The outbox: every message to deliver is a row written before it is sent.

A row is keyed by (chat, kind, period), so a digest for a period is planned once. Workers
claim rows atomically (PostgreSQL: `FOR UPDATE SKIP LOCKED` in the claiming UPDATE; SQLite:
the UPDATE's own `status = 'pending'` condition under SQLite's single writer), record every
part as it is sent (`parts_sent`, `message_ids`), so a restart resumes at the next part.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.models import Chat, Outbox, SentItem

PENDING, SENDING, SENT, FAILED, EMPTY = "pending", "sending", "sent", "failed", "empty"


async def plan(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    period: str,
    parts: Sequence[str],
    item_ids: Sequence[int],
    sent_item_ids: Sequence[int],
    now: datetime,
) -> Outbox | None:
    """Write a row (status `empty` when there is nothing to send) and remember its items as
    sent to the chat, in the caller's transaction. None if the period already has a row."""
    row = Outbox(
        chat_id=chat_id, kind=kind, period=period, parts=list(parts), item_ids=list(item_ids),
        status=PENDING if parts else EMPTY, created_at=now,
    )
    values = row.model_dump(exclude={"id"})
    sent = [{"chat_id": chat_id, "item_id": item_id, "sent_at": now}
            for item_id in dict.fromkeys(sent_item_ids)]
    try:
        async with session.begin_nested():  # Core inserts: planning 10,000 chats stays quick
            result = await session.exec(sa.insert(Outbox).values(**values).returning(Outbox.id))
            row.id = result.scalar_one()
            if sent:
                await session.exec(sa.insert(SentItem), params=sent)
    except IntegrityError:
        return None
    return row


async def planned_periods(db: Database, kind: str, periods: Sequence[str]) -> set[tuple[int, str]]:
    """(chat_id, period) pairs that already have a row of `kind` for one of `periods`."""
    if not periods:
        return set()
    async with db.session() as session:
        result = await session.exec(select(Outbox.chat_id, Outbox.period).where(
            Outbox.kind == kind, col(Outbox.period).in_(set(periods))))
        return {(chat_id, period) for chat_id, period in result.all()}


async def claim(
    db: Database, worker: str, now: datetime, *, limit: int = 100,
    row_ids: Sequence[int] | None = None,
) -> list[Outbox]:
    """Atomically take up to `limit` due pending rows (or just `row_ids`) for `worker`."""
    due = (
        select(Outbox.id)
        .where(Outbox.status == PENDING)
        .where(sa.or_(col(Outbox.not_before).is_(None), col(Outbox.not_before) <= now))
        .order_by(col(Outbox.id))
        .limit(limit)
    )
    if row_ids is not None:
        due = due.where(col(Outbox.id).in_(list(row_ids)))
    if db.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # A materialised CTE runs the locking SELECT (and its LIMIT) exactly once; a plain IN
    # (subquery) may be re-run by PostgreSQL's planner and take more rows than asked.
    picked = due.cte("picked").prefix_with("MATERIALIZED")
    statement = (
        sa.update(Outbox)
        .where(col(Outbox.id).in_(select(picked.c.id)), Outbox.status == PENDING)
        .values(status=SENDING, claimed_by=worker, claimed_at=now, attempts=Outbox.attempts + 1)
        .returning(Outbox)
        .execution_options(synchronize_session=False)
    )
    async with db.session() as session:
        rows = list((await session.exec(statement)).scalars().all())
        await session.commit()
    return sorted(rows, key=lambda r: r.id or 0)


class ClaimLost(Exception):
    """The row was taken over (requeued as stale and claimed by another worker)."""


async def record_part(db: Database, row: Outbox, message_id: int, now: datetime) -> None:
    """One more part is out: count it (and finish the row after its last part). Raises
    ClaimLost if the row is no longer this worker's, so it stops sending it."""
    parts_sent, message_ids = row.parts_sent + 1, [*row.message_ids, message_id]
    values: dict[str, object] = {"parts_sent": parts_sent, "message_ids": message_ids,
                                 "claimed_at": now}
    done = parts_sent >= len(row.parts)
    if done:
        values.update(status=SENT, sent_at=now, error=None)
    await _update(db, row, **values)
    row.parts_sent, row.message_ids = parts_sent, message_ids  # only once it is stored
    if done:
        row.status, row.sent_at = SENT, now


async def replace_parts(db: Database, row: Outbox, parts: Sequence[str]) -> None:
    """Swap the unsent parts for `parts` (a part Telegram found too long, split in two)."""
    row.parts = [*row.parts[: row.parts_sent], *parts]
    await _update(db, row, parts=row.parts)


async def release(db: Database, row: Outbox, error: str, not_before: datetime) -> None:
    """Give a row back for a later retry (network trouble); the error is kept."""
    await _update(db, row, status=PENDING, error=error, not_before=not_before, claimed_by=None)


async def fail(db: Database, row: Outbox, error: str) -> None:
    await _update(db, row, status=FAILED, error=error)


async def touch(db: Database, row: Outbox, now: datetime) -> None:
    """The holder is alive and about to send: refresh the claim (ClaimLost if taken)."""
    row.claimed_at = now
    await _update(db, row, claimed_at=now)


async def requeue_stale(db: Database, older_than: datetime, *, keep: str | None = None) -> int:
    """Rows left `sending` by a worker that died (not touched since `older_than`) go back to
    pending; they resume from `parts_sent`. Claims starting with `keep#` (the caller's own,
    alive) stay."""
    stale = sa.and_(Outbox.status == SENDING, col(Outbox.claimed_at) <= older_than)
    if keep is not None:
        stale = sa.and_(stale, sa.not_(col(Outbox.claimed_by).startswith(f"{keep}#",
                                                                          autoescape=True)))
    async with db.session() as session:
        result = await session.exec(
            sa.update(Outbox).where(stale).values(status=PENDING, claimed_by=None)
        )
        await session.commit()
        return result.rowcount or 0


async def last_delivered(db: Database, chat_id: int, kinds: Sequence[str]) -> Outbox | None:
    """The chat's latest row of `kinds` that has items (for `/teach N` numbering)."""
    async with db.session() as session:
        result = await session.exec(
            select(Outbox)
            .where(Outbox.chat_id == chat_id, col(Outbox.kind).in_(list(kinds)),
                   col(Outbox.status).in_([SENT, SENDING, PENDING]))
            .order_by(col(Outbox.created_at).desc(), col(Outbox.id).desc())
            .limit(1)
        )
        return result.first()


async def move_chat(db: Database, old_id: int, new_id: int) -> set[int]:
    """A group became a supergroup (`new_id`): its subscription, its outbox rows and its sent
    items move there, in one transaction; the old chat is left inactive. Idempotent, so every
    sender that meets the migration may call it. A row whose (kind, period) the new chat
    already has stays with the old chat: the ids of those rows are returned."""
    async with db.session() as session:
        old = await session.get(Chat, old_id)
        if old is None:
            return set()
        if await session.get(Chat, new_id) is None:
            values = old.model_dump(exclude={"id"})
            values.update(id=new_id, type="supergroup")
            try:
                async with session.begin_nested():
                    await session.exec(sa.insert(Chat).values(**values))
            except IntegrityError:  # another sender of this chat's rows moved it just now
                pass
        other = sa.table("outbox", sa.column("chat_id"), sa.column("kind"),
                         sa.column("period")).alias("other")
        clash = sa.exists().where(other.c.chat_id == new_id, other.c.kind == Outbox.kind,
                                  other.c.period == Outbox.period)
        await session.exec(sa.update(Outbox).where(col(Outbox.chat_id) == old_id, ~clash)
                           .values(chat_id=new_id))
        known = select(SentItem.item_id).where(SentItem.chat_id == new_id)
        await session.exec(sa.insert(SentItem).from_select(
            ["chat_id", "item_id", "sent_at"],
            select(sa.literal(new_id, sa.BigInteger), SentItem.item_id, SentItem.sent_at)
            .where(SentItem.chat_id == old_id, col(SentItem.item_id).not_in(known))))
        await session.exec(sa.update(Chat).where(col(Chat.id) == old_id).values(
            active=False, inactive_reason=f"migrated to {new_id}"))
        stayed = set(await session.exec(select(Outbox.id).where(Outbox.chat_id == old_id)))
        await session.commit()
    return {i for i in stayed if i is not None}


async def _update(db: Database, row: Outbox, **values: object) -> None:
    """Write `values` to the row while this worker still holds its claim."""
    async with db.session() as session:
        result = await session.exec(
            sa.update(Outbox)
            .where(col(Outbox.id) == row.id, col(Outbox.claimed_by) == row.claimed_by)
            .values(**values)
        )
        await session.commit()
    if result.rowcount == 0:
        raise ClaimLost(f"outbox row {row.id} is no longer claimed by {row.claimed_by}")


def retry_delay(attempts: int, base: float) -> timedelta:
    """Exponential backoff for a row's next try: base, 2·base, 4·base ... capped at 1 h."""
    return timedelta(seconds=min(3600.0, base * 2 ** max(0, attempts - 1)))
