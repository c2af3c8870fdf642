"""Planning digests: which chats are due, what goes into their digest, and the outbox row.

A scheduled digest's period is the chat's local date (daily) or ISO week (weekly, sent on
Monday); it is due once the chat's local digest time has passed in that period and the period
has no row yet. `/digest` plans a `manual` row for the moment it is asked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest.render import order_entries, render_digest
from bot.html import esc
from bot.i18n import t
from storage import outbox
from storage.db import Database
from storage.digests import DigestEntry, digest_entries, topic_names
from storage.models import Chat

MAX_LOOKBACK = timedelta(days=7)
# Items are stamped `fetched_at` when their poll starts but committed when it ends, so one
# stamped just before a digest can be stored just after it read. Each digest therefore also
# looks this far behind its window; the chat's sent items keep stories from repeating.
OVERLAP = timedelta(hours=1)
PER_TOPIC = 20  # a digest lists at most this many stories per topic


@dataclass
class Due:
    chat: Chat
    period: str
    since: datetime


def due_period(chat: Chat, now: datetime) -> tuple[str, datetime] | None:
    """(period key, moment it became due in UTC) if the chat's digest time has passed in the
    current period, else None."""
    if chat.frequency not in ("daily", "weekly", "instant"):
        return None
    zone = ZoneInfo(chat.tz)
    local = now.astimezone(zone)
    hour, minute = (int(x) for x in chat.digest_time.split(":"))
    day = local.date()
    if chat.frequency == "weekly":
        day -= timedelta(days=local.weekday())
        year, week, _ = day.isocalendar()
        period = f"{year}-W{week:02d}"
    else:
        period = day.isoformat()
    moment = datetime.combine(day, time(hour, minute), zone)
    if local < moment:
        return None
    return period, moment


def due_chats(chats: Sequence[Chat], now: datetime, planned: set[tuple[int, str]]) -> list[Due]:
    """Chats whose digest for the current period is due and not yet planned. A chat that
    subscribed after this period's digest time starts with the next one."""
    due = []
    for chat in chats:
        found = due_period(chat, now)
        if found is None:
            continue
        period, moment = found
        if (chat.id, period) in planned or chat.created_at > moment:
            continue
        span = timedelta(days=7 if chat.frequency == "weekly" else 1)
        since = max(chat.last_digest_at or moment - span, now - MAX_LOOKBACK)
        due.append(Due(chat, period, since))
    return due


async def plan_digest(
    db: Database, chat: Chat, *, kind: str, period: str, since: datetime, now: datetime
) -> outbox.Outbox | None:
    """Plan one chat's digest in its own transaction (see `plan_digests`)."""
    rows = await plan_digests(db, [Due(chat, period, since)], kind=kind, now=now)
    return rows[0]


async def plan_digests(
    db: Database, dues: Sequence[Due], *, kind: str, now: datetime, batch: int = 100
) -> list[outbox.Outbox | None]:
    """Select, render and write each chat's digest row (status `empty` when nothing is new).
    Per batch of chats the selection is read first, then all rows are written in one short
    transaction (SQLite has a single writer: senders must never wait long for it). None for
    a period that already had a row (planned by another instance, say)."""
    rows: list[outbox.Outbox | None] = []
    for start in range(0, len(dues), batch):
        async with db.session() as session:
            names = await topic_names(session)
            drafts = [await _draft(session, due, now=now, names=names)
                      for due in dues[start : start + batch]]
        async with db.session() as session:
            for draft in drafts:
                rows.append(await _write(session, draft, kind=kind, now=now))
            await session.commit()
    return rows


@dataclass
class _Draft:
    due: Due
    parts: list[str]
    shown: list[DigestEntry]


async def _draft(
    session: AsyncSession, due: Due, *, now: datetime, names: Mapping[str, Mapping[str, str]]
) -> _Draft:
    chat, since = due.chat, due.since
    entries = await digest_entries(session, chat_id=chat.id, topics=chat.topics,
                                   since=since - OVERLAP, until=now)
    parts, shown = compose_digest(entries, header=_header(chat, since, now), names=names,
                                  lang=chat.lang, tz=chat.tz, since=since, now=now)
    return _Draft(due, parts, shown)


def compose_digest(
    entries: Sequence[DigestEntry], *, header: str, names: Mapping[str, Mapping[str, str]],
    lang: str, tz: str, since: datetime, now: datetime,
) -> tuple[list[str], list[DigestEntry]]:
    """The digest's messages (best first per topic, at most `PER_TOPIC` stories a topic and a
    line for the rest) and the entries they show; no messages when there is nothing."""
    ordered = order_entries(entries, list(names))
    sections = [(topic, items[:PER_TOPIC]) for topic, items in ordered]
    if not sections:
        return [], []
    parts = render_digest(sections, header=header, names=names, lang=lang, tz=tz, now=now,
                          footers=_more_lines(ordered, lang, since, now))
    return parts, [entry for _, items in sections for entry in items]


async def _write(session: AsyncSession, draft: _Draft, *, kind: str,
                 now: datetime) -> outbox.Outbox | None:
    chat_id = draft.due.chat.id
    row = await outbox.plan(
        session, chat_id=chat_id, kind=kind, period=draft.due.period, parts=draft.parts,
        item_ids=[e.item_id for e in draft.shown],
        sent_item_ids=[i for e in draft.shown for i in e.item_ids], now=now,
    )
    if row is not None:
        await session.exec(
            sa.update(Chat).where(col(Chat.id) == chat_id).values(last_digest_at=now))
    return row


def _more_lines(sections: list[tuple[str, list[DigestEntry]]], lang: str, since: datetime,
                now: datetime) -> dict[str, str]:
    """Per topic past `PER_TOPIC` stories: how many more, and the search that lists them (they
    stay unsent, so nothing the window moves past is dropped without a word)."""
    days = max(1, math.ceil((now - since) / timedelta(days=1)))
    return {topic: t("digest.more", lang, count=len(items) - PER_TOPIC, topic=esc(topic),
                     days=days)
            for topic, items in sections if len(items) > PER_TOPIC}


def _header(chat: Chat, since: datetime, now: datetime) -> str:
    zone = ZoneInfo(chat.tz)
    return t("digest.header", chat.lang, since=since.astimezone(zone).strftime("%d.%m %H:%M"),
             until=now.astimezone(zone).strftime("%d.%m %H:%M"))


def since_text(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


ALERT_SCORE = 0.8  # an item this sure of its topic is worth an instant alert
ALERT_WINDOW = timedelta(hours=6)


async def plan_alerts(db: Database, chats: Sequence[Chat], now: datetime) -> int:
    """Outbox rows (kind `alert`, period = item id) for instant-alert chats: high-scoring
    items of their topics fetched recently that the chat was not sent yet. Returns how many."""
    planned = 0
    if not chats:
        return planned
    async with db.session() as session:
        names = await topic_names(session)
    for chat in chats:
        since = max(chat.created_at, now - ALERT_WINDOW)
        async with db.session() as session:
            entries = await digest_entries(session, chat_id=chat.id, topics=chat.topics,
                                           since=since, until=now, min_score=ALERT_SCORE)
            for entry in entries:
                parts = render_digest([(entry.topic_id, [entry])],
                                      header=t("digest.alert_header", chat.lang), names=names,
                                      lang=chat.lang, tz=chat.tz, now=now)
                row = await outbox.plan(session, chat_id=chat.id, kind="alert",
                                        period=str(entry.item_id), parts=parts,
                                        item_ids=[entry.item_id], sent_item_ids=entry.item_ids,
                                        now=now)
                planned += row is not None
            await session.commit()
    return planned
