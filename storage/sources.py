"""Queries on outlets (`source` rows): seeding from the list, admin changes, poll bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import Database
from storage.models import Item, Source, UTCDateTime, utcnow


@dataclass(frozen=True)
class SourceSpec:
    """An outlet as the sources file describes it."""

    name: str
    url: str
    lang: str = "ru"
    poll_interval: int = 900
    enabled: bool = True
    confidence: str = "medium"


@dataclass(frozen=True)
class SyncResult:
    added: int
    updated: int


async def sync_specs(db: Database, specs: Sequence[SourceSpec]) -> SyncResult:
    """Insert outlets missing from the store and refresh name/lang/interval/confidence of
    known ones. `enabled` is only taken for new rows: an admin's pause survives a restart,
    and outlets absent from the file are left alone (admins may have added them)."""
    added = updated = 0
    async with db.session() as session:
        known = {s.url: s for s in (await session.exec(select(Source))).all()}
        for spec in specs:
            source = known.get(spec.url)
            if source is None:
                session.add(Source(name=spec.name, url=spec.url, lang=spec.lang,
                                   poll_interval=spec.poll_interval, enabled=spec.enabled,
                                   confidence=spec.confidence))
                added += 1
                continue
            fields = {"name": spec.name, "lang": spec.lang,
                      "poll_interval": spec.poll_interval, "confidence": spec.confidence}
            if any(getattr(source, k) != v for k, v in fields.items()):
                for key, value in fields.items():
                    setattr(source, key, value)
                updated += 1
        await session.commit()
    return SyncResult(added, updated)


async def list_sources(db: Database, *, enabled_only: bool = False) -> list[Source]:
    query = select(Source).order_by(col(Source.id))
    if enabled_only:
        query = query.where(col(Source.enabled))
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def get_source(db: Database, source_id: int) -> Source | None:
    async with db.session() as session:
        return await session.get(Source, source_id)


async def due_sources(db: Database, now: datetime) -> list[Source]:
    """Enabled outlets whose next poll time has come (or was never set)."""
    query = (select(Source)
             .where(col(Source.enabled),
                    or_(col(Source.next_poll_at).is_(None), col(Source.next_poll_at) <= now))
             .order_by(col(Source.next_poll_at), col(Source.id)))
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def insert_source(db: Database, source: Source) -> Source | None:
    """Insert a new outlet; None when its URL is already listed."""
    async with db.session() as session:
        session.add(source)
        try:
            await session.commit()
        except IntegrityError:
            return None
        await session.refresh(source)
        return source


async def find_source_by_url(db: Database, url: str) -> Source | None:
    async with db.session() as session:
        return (await session.exec(select(Source).where(Source.url == url))).first()


async def set_source_enabled(db: Database, source_id: int, enabled: bool) -> Source | None:
    """Pause or resume an outlet (resuming makes it due at once); None if unknown."""
    async with db.session() as session:
        source = await session.get(Source, source_id)
        if source is None:
            return None
        source.enabled = enabled
        if enabled:
            source.next_poll_at = None
        await session.commit()
        await session.refresh(source)
        return source


async def remove_source(db: Database, source_id: int) -> bool:
    """Delete an outlet and its items (their scores, organisations and sends cascade)."""
    async with db.session() as session:
        source = await session.get(Source, source_id)
        if source is None:
            return False
        await session.exec(delete(Item).where(col(Item.source_id) == source_id))
        await session.delete(source)
        await session.commit()
        return True


async def failing_sources(db: Database, for_at_least: timedelta,
                          now: datetime | None = None) -> list[Source]:
    """Enabled outlets failing for at least `for_at_least` whose admins were not yet told."""
    since = (now or utcnow()) - for_at_least
    query = (select(Source)
             .where(col(Source.enabled), col(Source.error_count) > 0,
                    col(Source.first_failure_at) <= since,
                    col(Source.failure_notified_at).is_(None))
             .order_by(col(Source.first_failure_at)))
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def mark_failure_notified(db: Database, ids: Sequence[int],
                                now: datetime | None = None) -> None:
    if not ids:
        return
    async with db.session() as session:
        await session.exec(update(Source).where(col(Source.id).in_(list(ids)))
                              .values(failure_notified_at=now or utcnow()))
        await session.commit()


async def record_success(db: Database, source_id: int, *, now: datetime,
                         next_poll_at: datetime, etag: str | None,
                         last_modified: str | None, new_items: int) -> None:
    """A poll worked: clear the failure streak, keep the validators for the next GET."""
    async with db.session() as session:
        await session.exec(
            update(Source).where(col(Source.id) == source_id).values(
                etag=etag, last_modified=last_modified, last_polled_at=now,
                last_success_at=now, next_poll_at=next_poll_at, last_error=None,
                error_count=0, first_failure_at=None, failure_notified_at=None,
                items_total=Source.items_total + new_items,
            )
        )
        await session.commit()


async def record_failure(db: Database, source_id: int, *, now: datetime,
                         next_poll_at: datetime, error: str) -> None:
    """A poll failed: count it and keep when the streak started."""
    async with db.session() as session:
        await session.exec(
            update(Source).where(col(Source.id) == source_id).values(
                last_polled_at=now, next_poll_at=next_poll_at, last_error=error[:500],
                error_count=Source.error_count + 1, total_errors=Source.total_errors + 1,
                first_failure_at=func.coalesce(Source.first_failure_at,
                                               literal(now, UTCDateTime())),
            )
        )
        await session.commit()

