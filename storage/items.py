"""Storing news items with their dedup keys, topic scores, organisations, search-index rows
and clusters, atomically: an item is never half-written.

Duplicates are decided by the unique `guid_key` and `url_key`: a concurrent or repeated poll
that loses the race gets an integrity error, which counts as a duplicate, not a failure.
Clusters (the same story from several outlets) are found with an in-memory inverted index of
the recent items' near keys, refreshed incrementally from the store before each call (or,
for a poll, once at its start: `refresh_near_index`).
"""

from __future__ import annotations

import hashlib
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.models import Item, ItemOrg, ItemTopic, utcnow
from storage.orgs import org_ids
from storage.search import index_items

CLUSTER_WINDOW = timedelta(days=3)
MIN_SHARED = 4  # near-key forms two items must share to be one story ...
MIN_OVERLAP = 0.5  # ... and the share of the smaller key they must cover
SWEEP_EVERY = timedelta(minutes=10)  # how often items past the window leave the index
MAX_POSTING = 64  # forms in more recent items than this do not propose candidates
_MAX_KEY = 400  # longer guids are hashed into the key
_CHUNK = 500  # keys per IN (...) query
BATCH = 200  # items per transaction


# Core tables: the ORM's bulk paths cost more per row than the database does.
_ITEM: sa.Table = Item.__table__  # type: ignore[assignment]
_TOPIC: sa.Table = ItemTopic.__table__  # type: ignore[assignment]
_ORG: sa.Table = ItemOrg.__table__  # type: ignore[assignment]
_SET_CLUSTER = (update(_ITEM).where(_ITEM.c.id == sa.bindparam("item"))
                .values(cluster_id=sa.bindparam("cluster")))


@dataclass(frozen=True)
class TopicScore:
    topic_id: str
    score: float
    on_topic: bool
    why: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class ItemRecord:
    """A normalised, classified item ready to store (no dependency on `topics`)."""

    source_id: int
    guid: str
    url: str  # canonical; may be empty when the entry had no link
    title: str
    text: str
    lang: str
    published_at: datetime
    content_hash: str
    near_key: str
    scores: list[TopicScore] = field(default_factory=list)
    orgs: dict[str, int] = field(default_factory=dict)  # org key -> mentions
    org_names: dict[str, str] = field(default_factory=dict)  # org key -> name as written
    fetched_at: datetime | None = None

    @property
    def guid_key(self) -> str:
        return guid_key(self.source_id, self.guid)

    @property
    def url_key(self) -> str:
        return url_key(self.url, self.guid_key)


@dataclass
class StoreResult:
    new: int = 0
    duplicate: int = 0
    new_ids: list[int] = field(default_factory=list)


def _hashed(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def guid_key(source_id: int, guid: str) -> str:
    """`<source_id>:<guid>`: guids are only unique within one outlet."""
    key = f"{source_id}:{guid}"
    return key if len(key) <= _MAX_KEY else f"{source_id}:{_hashed(guid)}"


def url_key(url: str, guid_key: str) -> str:
    """The canonical URL (hashed when very long; derived from the guid key when missing)."""
    if not url:
        return _hashed(f"guid:{guid_key}")
    return url if len(url) <= _MAX_KEY else _hashed(url)


def near_similarity(a: set[str], b: set[str]) -> float:
    """Overlap of two near keys relative to the smaller one (0..1)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


@dataclass
class _Recent:
    id: int
    source_id: int
    cluster_id: int
    published_at: datetime
    forms: frozenset[str]


class _NearIndex:
    """Recent items' near keys by word form, for cluster matching without a scan."""

    def __init__(self) -> None:
        self.items: dict[int, _Recent] = {}
        self.by_form: dict[str, set[int]] = {}
        self.last_id = 0
        self.swept_at: datetime | None = None

    async def refresh(self, db: Database, now: datetime) -> None:
        since = now - CLUSTER_WINDOW * 2
        query = (select(Item.id, Item.source_id, Item.cluster_id, Item.published_at,
                        Item.near_key)
                 .where(Item.id > self.last_id, Item.published_at >= since)
                 .order_by(Item.id))
        async with db.session() as session:
            rows = (await session.exec(query)).all()
        for row in rows:
            self.add(row.id, row.source_id, row.cluster_id or row.id, row.published_at,
                     row.near_key)
        self.last_id = max([self.last_id, *(row.id for row in rows)])
        if self.swept_at is None or now - self.swept_at > SWEEP_EVERY:
            self.swept_at = now
            for old in [i for i, r in self.items.items() if r.published_at < since]:
                self.drop(old)

    def add(self, item_id: int, source_id: int, cluster_id: int, published_at: datetime,
            near_key: str) -> None:
        forms = frozenset(near_key.split())
        if not forms:
            return
        self.items[item_id] = _Recent(item_id, source_id, cluster_id, published_at, forms)
        for form in forms:
            self.by_form.setdefault(form, set()).add(item_id)
        self.last_id = max(self.last_id, item_id)

    def drop(self, item_id: int) -> None:
        recent = self.items.pop(item_id, None)
        for form in recent.forms if recent else ():
            ids = self.by_form.get(form)
            if ids is not None:
                ids.discard(item_id)
                if not ids:
                    del self.by_form[form]

    def match(self, record: ItemRecord) -> int | None:
        """The cluster of the most similar recent item from another outlet, if any.

        Candidates come from the forms shared by few recent items (a form in hundreds of
        items, like the name of the capital, discriminates nothing and costs the most);
        their overlap is then measured on the whole keys.
        """
        forms = set(record.near_key.split())
        if len(forms) < MIN_SHARED:
            return None
        shared: Counter[int] = Counter()
        for form in forms:
            ids = self.by_form.get(form)
            if ids and len(ids) <= MAX_POSTING:
                shared.update(ids)  # counted in C, not item by item in Python
        best: tuple[float, int, int] | None = None
        for item_id, count in shared.items():
            if count < 2:
                continue
            other = self.items[item_id]
            if other.source_id == record.source_id:
                continue
            if abs(other.published_at - record.published_at) > CLUSTER_WINDOW:
                continue
            if len(forms & other.forms) < MIN_SHARED:
                continue
            overlap = near_similarity(forms, other.forms)
            if overlap >= MIN_OVERLAP and (best is None or (overlap, -item_id) > best[:2]):
                best = (overlap, -item_id, other.cluster_id)
        return best[2] if best else None


_indexes: weakref.WeakKeyDictionary[Database, _NearIndex] = weakref.WeakKeyDictionary()


def _near_index(db: Database) -> _NearIndex:
    index = _indexes.get(db)
    if index is None:
        index = _indexes[db] = _NearIndex()
    return index


async def existing_keys(db: Database, guid_keys: Iterable[str],
                        url_keys: Iterable[str]) -> set[str]:
    """Those of the given guid keys and url keys already in the store (one set of both)."""
    guids, urls = sorted(set(guid_keys)), sorted(set(url_keys))
    found: set[str] = set()
    async with db.session() as session:
        # both keys in one query per chunk (each column has its unique index)
        for start in range(0, max(len(guids), len(urls)), _CHUNK):
            wanted_guids = guids[start:start + _CHUNK]
            wanted_urls = urls[start:start + _CHUNK]
            rows = await session.exec(
                select(Item.guid_key, Item.url_key).where(sa.or_(
                    col(Item.guid_key).in_(wanted_guids), col(Item.url_key).in_(wanted_urls))))
            for guid, url in rows:
                found.add(guid)
                found.add(url)
    return found.intersection(guids).union(found.intersection(urls))


def _row(record: ItemRecord, now: datetime) -> dict[str, object]:
    return {
        "source_id": record.source_id, "guid_key": record.guid_key, "url_key": record.url_key,
        "url": record.url, "title": record.title, "text": record.text, "lang": record.lang,
        "published_at": record.published_at, "fetched_at": record.fetched_at or now,
        "content_hash": record.content_hash, "near_key": record.near_key,
        "scored_at": now if record.scores else None,
    }


def _distinct(records: Sequence[ItemRecord]) -> list[ItemRecord]:
    """The records without repeats of a guid key or URL key within the call."""
    seen: set[str] = set()
    kept = []
    for record in records:
        keys = {record.guid_key, record.url_key}
        if not seen & keys:
            seen |= keys
            kept.append(record)
    return kept


async def _org_map(session: AsyncSession, records: Sequence[ItemRecord]) -> dict[str, int]:
    """Organisation ids for every key the records mention; unknown keys are created in the
    session's transaction, so they exist exactly when the items naming them do.

    Called after the items' INSERT: on SQLite the transaction then holds the write lock, so
    no other writer can create the same organisation in between; on PostgreSQL a concurrent
    creation is absorbed by `org_ids`' savepoint, and keys are created in order, so two
    transactions wait for each other's new organisation without a deadlock."""
    keys = sorted({key for record in records for key in record.orgs})
    if not keys:
        return {}
    names = {k: v for record in records for k, v in record.org_names.items()}
    return await org_ids(session, keys, names)


async def _write_details(session: AsyncSession, ids: Sequence[int],
                         records: Sequence[ItemRecord], rows: Sequence[dict[str, object]],
                         clusters: Sequence[int], orgs: dict[str, int]) -> None:
    """Topic scores, organisations and search-index rows of just inserted items."""
    pairs = list(zip(ids, records, strict=True))
    topics = [{"item_id": item_id, "topic_id": s.topic_id, "score": s.score,
               "on_topic": s.on_topic, "why": [list(w) for w in s.why]}
              for item_id, record in pairs for s in record.scores]
    if topics:
        await session.exec(insert(_TOPIC), params=topics)
    mentions: dict[tuple[int, int], int] = {}
    for item_id, record in pairs:
        for key, count in record.orgs.items():
            pair = (item_id, orgs[key])  # merged organisations add up
            mentions[pair] = mentions.get(pair, 0) + count
    if mentions:
        await session.exec(insert(_ORG), params=[
            {"item_id": item_id, "org_id": org_id, "mentions": count}
            for (item_id, org_id), count in mentions.items()
        ])
    # the rows just written as items: model_construct skips validation, which costs more
    # than the rest of an item's store work, and with every field given it also skips
    # resolving defaults (a quarter of the remaining cost)
    await index_items(session, [
        Item.model_construct(id=item_id, cluster_id=cluster, **row)
        for item_id, row, cluster in zip(ids, rows, clusters, strict=True)
    ])


async def _set_clusters(session: AsyncSession, ids: Sequence[int],
                        clusters: Sequence[int]) -> None:
    """Store the clusters of just inserted items: most start their own (one statement)."""
    alone = [item_id for item_id, cluster in zip(ids, clusters, strict=True)
             if cluster == item_id]
    joined = [{"item": item_id, "cluster": cluster}
              for item_id, cluster in zip(ids, clusters, strict=True) if cluster != item_id]
    for start in range(0, len(alone), _CHUNK):
        await session.exec(update(_ITEM).where(_ITEM.c.id.in_(alone[start:start + _CHUNK]))
                           .values(cluster_id=_ITEM.c.id))
    if joined:
        await session.exec(_SET_CLUSTER, params=joined)


async def _store_batch(db: Database, records: Sequence[ItemRecord],
                       index: _NearIndex) -> list[int]:
    """All `records` in one transaction (the fast path); IntegrityError if any is known."""
    now = utcnow()
    rows = [_row(record, now) for record in records]
    added: list[int] = []
    try:
        async with db.session() as session, session.begin():
            # a plain executemany and one look-up: an ordered RETURNING would go row by row
            await session.exec(insert(_ITEM), params=rows)
            keys = [record.guid_key for record in records]
            found = dict((await session.exec(
                select(Item.guid_key, Item.id).where(col(Item.guid_key).in_(keys)))).all())
            ids = [found[key] for key in keys]
            orgs = await _org_map(session, records)
            clusters = []
            for item_id, record in zip(ids, records, strict=True):
                cluster = index.match(record) or item_id
                clusters.append(cluster)
                index.add(item_id, record.source_id, cluster, record.published_at,
                          record.near_key)
                added.append(item_id)
            await _set_clusters(session, ids, clusters)
            await _write_details(session, ids, records, rows, clusters, orgs)
    except BaseException:
        for item_id in added:  # nothing of the batch exists: forget its provisional keys
            index.drop(item_id)
        raise
    return ids


async def _store_one(db: Database, record: ItemRecord, index: _NearIndex) -> int | None:
    """One record in its own transaction; None when it is already stored."""
    try:
        async with db.session() as session, session.begin():
            row = _row(record, utcnow())
            statement = insert(_ITEM).returning(_ITEM.c.id)
            item_id = (await session.exec(statement, params=row)).scalar_one()
            orgs = await _org_map(session, [record])
            cluster = index.match(record) or item_id
            await session.exec(_SET_CLUSTER, params={"item": item_id, "cluster": cluster})
            await _write_details(session, [item_id], [record], [row], [cluster], orgs)
    except IntegrityError:
        return None
    index.add(item_id, record.source_id, cluster, record.published_at, record.near_key)
    return item_id


async def refresh_near_index(db: Database, now: datetime | None = None) -> None:
    """Bring the near-duplicate index up to date with the store (items other processes
    wrote). `store_items` does it on every call unless told not to: a poll over many
    outlets does it once at its start instead (its own items are added as it stores them).
    """
    await _near_index(db).refresh(db, now or utcnow())


async def store_items(db: Database, records: Sequence[ItemRecord], *,
                      refresh: bool = True) -> StoreResult:
    """Store new records with their topic scores, organisations, index rows and clusters.

    Records go in batches of up to `BATCH`, each batch one transaction (a thread hop per
    statement makes a transaction per item 5-10x slower on SQLite). Every item is written
    with its dedup keys in one transaction, so a kill loses only uncommitted work, which
    the next poll fetches again. When a batch hits a known guid or URL (a concurrent or
    repeated poll), it is redone one transaction per item and the known ones count as
    duplicates. The organisations the items name are created in the same transactions.
    `refresh=False` skips bringing the near-duplicate index up to date first (the caller
    did, see `refresh_near_index`).
    """
    distinct = _distinct(records)
    result = StoreResult(duplicate=len(records) - len(distinct))
    if not distinct:
        return result
    index = _near_index(db)
    if refresh:
        await index.refresh(db, utcnow())
    for start in range(0, len(distinct), BATCH):
        batch = distinct[start:start + BATCH]
        try:
            ids = await _store_batch(db, batch, index)
        except IntegrityError:
            stored = [await _store_one(db, record, index) for record in batch]
            ids = [item_id for item_id in stored if item_id is not None]
        result.new += len(ids)
        result.duplicate += len(batch) - len(ids)
        result.new_ids.extend(ids)
    return result
