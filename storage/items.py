"""Storing news items: one transaction per item with its dedup keys, topic scores,
organisations, search-index row and cluster.

Duplicates are decided by the unique `guid_key` and `url_key`: a concurrent or repeated poll
that loses the race gets an integrity error, which counts as a duplicate, not a failure.
Clusters (the same story from several outlets) are found with an in-memory inverted index of
the recent items' near keys, refreshed incrementally from the store before each batch.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.db import Database
from storage.models import Item, ItemOrg, ItemTopic, utcnow
from storage.orgs import org_ids
from storage.search import index_items

CLUSTER_WINDOW = timedelta(days=3)
MIN_SHARED = 4  # near-key forms two items must share to be one story ...
MIN_OVERLAP = 0.6  # ... and the share of the smaller key they must cover
_MAX_KEY = 400  # longer guids are hashed into the key
_CHUNK = 500  # keys per IN (...) query


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
        for old in [i for i, r in self.items.items() if r.published_at < since]:
            self._drop(old)

    def add(self, item_id: int, source_id: int, cluster_id: int, published_at: datetime,
            near_key: str) -> None:
        forms = frozenset(near_key.split())
        if not forms:
            return
        self.items[item_id] = _Recent(item_id, source_id, cluster_id, published_at, forms)
        for form in forms:
            self.by_form.setdefault(form, set()).add(item_id)
        self.last_id = max(self.last_id, item_id)

    def _drop(self, item_id: int) -> None:
        for form in self.items.pop(item_id).forms:
            ids = self.by_form.get(form)
            if ids is not None:
                ids.discard(item_id)
                if not ids:
                    del self.by_form[form]

    def match(self, record: ItemRecord) -> int | None:
        """The cluster of the most similar recent item from another outlet, if any."""
        forms = set(record.near_key.split())
        if len(forms) < MIN_SHARED:
            return None
        shared = Counter(i for form in forms for i in self.by_form.get(form, ()))
        best: tuple[float, int, int] | None = None
        for item_id, count in shared.items():
            if count < MIN_SHARED:
                continue
            other = self.items[item_id]
            if other.source_id == record.source_id:
                continue
            if abs(other.published_at - record.published_at) > CLUSTER_WINDOW:
                continue
            overlap = count / min(len(forms), len(other.forms))
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
        for column, keys in ((Item.guid_key, guids), (Item.url_key, urls)):
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start:start + _CHUNK]
                rows = await session.exec(select(column).where(column.in_(chunk)))
                found.update(rows)
    return found


def _item(record: ItemRecord, cluster_id: int | None) -> Item:
    return Item(
        source_id=record.source_id,
        guid_key=record.guid_key,
        url_key=record.url_key,
        url=record.url,
        title=record.title,
        text=record.text,
        lang=record.lang,
        published_at=record.published_at,
        fetched_at=record.fetched_at or utcnow(),
        content_hash=record.content_hash,
        near_key=record.near_key,
        cluster_id=cluster_id,
        scored_at=utcnow() if record.scores else None,
    )


async def store_items(db: Database, records: Sequence[ItemRecord]) -> StoreResult:
    """Store each record in its own transaction; duplicates (by guid or URL) are skipped."""
    result = StoreResult()
    if not records:
        return result
    index = _near_index(db)
    await index.refresh(db, utcnow())
    async with db.session() as session:
        for record in records:
            cluster_id = index.match(record)
            try:
                async with session.begin():
                    item = _item(record, cluster_id)
                    session.add(item)
                    await session.flush()
                    assert item.id is not None
                    if cluster_id is None:
                        item.cluster_id = item.id  # the first item of its own cluster
                    if record.scores:
                        await session.exec(insert(ItemTopic), params=[
                            {"item_id": item.id, "topic_id": s.topic_id, "score": s.score,
                             "on_topic": s.on_topic, "why": [list(w) for w in s.why]}
                            for s in record.scores
                        ])
                    if record.orgs:
                        ids = await org_ids(session, list(record.orgs))
                        mentions: dict[int, int] = {}
                        for key, count in record.orgs.items():
                            org_id = ids[key]
                            mentions[org_id] = mentions.get(org_id, 0) + count
                        await session.exec(insert(ItemOrg), params=[
                            {"item_id": item.id, "org_id": org_id, "mentions": count}
                            for org_id, count in mentions.items()
                        ])
                    await session.flush()
                    await index_items(session, [item])
            except IntegrityError:
                result.duplicate += 1
                continue
            result.new += 1
            result.new_ids.append(item.id)
            index.add(item.id, item.source_id, item.cluster_id or item.id, item.published_at,
                      item.near_key)
    return result
