"""The poll job: fetch due outlets, keep what is new, classify it, store it, reschedule.

Each outlet's poll ends in exactly one bookkeeping write (success or failure), after its new
items are stored one transaction each: a kill in between loses nothing that was committed,
and the next poll (validators not yet updated) refetches and skips what is already stored.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from feeds.fetch import Fetcher, FetchError, FetchResult
from feeds.normalize import NormalItem, normalize_entry
from feeds.parse import FeedError, parse_feed
from storage.db import Database
from storage.items import (
    ItemRecord,
    TopicScore,
    existing_keys,
    guid_key,
    refresh_near_index,
    store_items,
    url_key,
)
from storage.models import Source, utcnow
from storage.sources import due_sources, list_sources, record_failure, record_success

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
MAX_SERVER_DELAY = timedelta(hours=24)  # a Retry-After / max-age beyond this is ignored


class Classifier(Protocol):
    """What the poller needs of `topics.Classifier`."""

    topic_ids: list[str]

    def classify_many(self, items: Sequence[tuple[str, str, str | None]]) -> list[Any]: ...


ClassifierProvider = Callable[[], Classifier]
Progress = Callable[["SourceOutcome"], None]


@dataclass
class SourceOutcome:
    source_id: int
    name: str
    ok: bool
    new: int = 0
    duplicate: int = 0
    not_modified: bool = False
    error: str | None = None
    next_poll_at: datetime | None = None


@dataclass
class PollSummary:
    outcomes: list[SourceOutcome] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def duplicate(self) -> int:
        return sum(o.duplicate for o in self.outcomes)

    @property
    def not_modified(self) -> int:
        return sum(1 for o in self.outcomes if o.not_modified)


def settle_startup_heap() -> None:
    """Call once the process has loaded what it keeps for its whole life (modules, the
    classifier, word lists): collects the start-up garbage, then exempts what is left from
    the cyclic GC, whose full collections otherwise re-scan all of it several times per big
    poll (0.3-0.5 s of a 10,000-item first pass)."""
    gc.collect()
    gc.freeze()


def backoff_delay(interval: float, failures: int, cap: timedelta = MAX_BACKOFF) -> timedelta:
    """Wait after the `failures`-th failure in a row: the poll interval doubled each time,
    at most `cap`. Retried for ever: an outlet is never dropped."""
    exponent = min(max(failures - 1, 0), 30)
    return min(cap, timedelta(seconds=interval * 2**exponent))


def _records(source: Source, items: Sequence[NormalItem], classifier: Classifier,
             fetched_at: datetime) -> list[ItemRecord]:
    assert source.id is not None
    results = classifier.classify_many([(i.title, i.text, i.lang) for i in items])
    topic_ids = classifier.topic_ids  # a property that builds its list on every read
    records = []
    for item, result in zip(items, results, strict=True):
        scores = [
            TopicScore(topic_id, float(result.scores.get(topic_id, 0.0)),
                       topic_id in result.topics, list(result.why.get(topic_id, [])))
            for topic_id in topic_ids
        ]
        records.append(ItemRecord(
            source_id=source.id, guid=item.guid, url=item.url, title=item.title,
            text=item.text, lang=item.lang, published_at=item.published_at,
            content_hash=item.content_hash, near_key=item.near_key, scores=scores,
            orgs=dict(result.orgs), org_names=dict(result.org_names),
            fetched_at=fetched_at,
        ))
    return records


def _unique(source_id: int, items: Sequence[NormalItem],
            ) -> tuple[list[NormalItem], list[tuple[str, str]]]:
    """Drop repeats inside one feed (same guid or URL); returns (kept, their keys)."""
    seen: set[str] = set()
    kept, keys = [], []
    for item in items:
        guid = guid_key(source_id, item.guid)
        pair = (guid, url_key(item.url, guid))
        if seen.intersection(pair):
            continue
        seen.update(pair)
        kept.append(item)
        keys.append(pair)
    return kept, keys


def parse_items(body: bytes, content_type: str | None, url: str, default_lang: str,
                fetched_at: datetime) -> list[NormalItem]:
    """Parse and normalise a feed body (CPU only: runs in an executor, maybe a process)."""
    feed = parse_feed(body, content_type=content_type, url=url)
    items = [normalize_entry(entry, default_lang=default_lang, fetched_at=fetched_at,
                             base_url=url) for entry in feed.entries]
    return [item for item in items if item is not None]


class Poller:
    """Polls outlets. `classifier_provider()` is called for every batch, so a topic tuned by
    an admin applies from the next poll on.

    Parsing runs in `parse_executor` (default: the loop's thread pool, which keeps the event
    loop responsive); a `ProcessPoolExecutor` uses more cores for big one-off passes.
    """

    def __init__(self, db: Database, fetcher: Fetcher, classifier_provider: ClassifierProvider,
                 *, clock: Callable[[], datetime] = utcnow, jitter: float = 0.1,
                 start_spread: float = 3.0, rng: random.Random | None = None,
                 parse_executor: Executor | None = None,
                 allow_private_added: bool = True) -> None:
        self.db = db
        # Outlets an admin added (not from the outlet file) may reach private and loopback
        # addresses only when configured so, on every poll, not only when they were added:
        # a feed can later redirect to, or resolve to, an internal address.
        self.allow_private_added = allow_private_added
        self.parse_executor = parse_executor
        self.fetcher = fetcher
        self.classifier_provider = classifier_provider
        self.clock = clock
        self.jitter = jitter
        self.start_spread = start_spread
        self.rng = rng or random.Random()
        # Store work of many outlets at once only queues up for connections and, on SQLite
        # (one writer), for the write lock with sleeps in between: a few at a time is faster.
        self._db_slots = asyncio.Semaphore(1 if db.dialect == "sqlite" else 4)

    async def poll_due(self, now: datetime | None = None) -> PollSummary:
        """Poll every enabled outlet whose time has come, starts spread by a small jitter."""
        sources = await due_sources(self.db, now or self.clock())
        return await self._poll_many(sources, None, self.start_spread)

    async def poll_all(self, sources: Sequence[Source] | None = None,
                       progress: Progress | None = None) -> PollSummary:
        """Poll `sources` (default: every enabled outlet) now, whatever their schedule."""
        if sources is None:
            sources = await list_sources(self.db, enabled_only=True)
        return await self._poll_many(sources, progress, 0.0)

    async def _poll_many(self, sources: Sequence[Source], progress: Progress | None,
                         spread: float) -> PollSummary:
        if not sources:
            return PollSummary()
        # once per poll, not per outlet: what other processes stored since the last poll
        # (if that fails, each outlet's store tries again and fails on its own, as before)
        try:
            await refresh_near_index(self.db, self.clock())
            refreshed = True
        except Exception:
            log.exception("refreshing the near-duplicate index failed")
            refreshed = False

        async def one(source: Source) -> SourceOutcome:
            if spread:
                await asyncio.sleep(self.rng.uniform(0, spread))
            outcome = await self.poll_source(source, index_fresh=refreshed)
            if progress:
                progress(outcome)
            return outcome

        return PollSummary(list(await asyncio.gather(*(one(s) for s in sources))))

    def _jittered(self, delay: timedelta) -> timedelta:
        return delay * self.rng.uniform(1 - self.jitter, 1 + self.jitter)

    async def poll_source(self, source: Source, *, index_fresh: bool = False) -> SourceOutcome:
        """Poll one outlet and record the outcome on its row; never raises for a bad feed.

        `index_fresh`: the near-duplicate index was just refreshed (by the poll this is
        part of), so storing the items need not do it again."""
        assert source.id is not None
        started = self.clock()
        try:
            result = await self.fetcher.fetch(
                source.url, etag=source.etag, last_modified=source.last_modified,
                allow_private=source.added_by is None or self.allow_private_added)
            outcome = await self._ingest(source, result, started, index_fresh)
        except (FetchError, FeedError) as error:
            return await self._failed(source, started, error.message,
                                      getattr(error, "retry_after", None))
        except Exception as error:  # a bug or a store outage must not stop the other outlets
            log.exception("polling %s failed", source.url)
            return await self._failed(source, started, f"internal error: {error}", None)
        delay = timedelta(seconds=source.poll_interval)
        hint = max(result.max_age or 0, result.retry_after or 0)
        if hint:
            delay = max(delay, min(timedelta(seconds=hint), MAX_SERVER_DELAY))
        outcome.next_poll_at = started + self._jittered(delay)
        etag, last_modified = result.etag, result.last_modified
        if result.not_modified:  # a 304 may omit the validators: keep the ones we sent
            etag, last_modified = etag or source.etag, last_modified or source.last_modified
        async with self._db_slots:
            await record_success(self.db, source.id, now=started,
                                 next_poll_at=outcome.next_poll_at, etag=etag,
                                 last_modified=last_modified, new_items=outcome.new)
        return outcome

    async def _ingest(self, source: Source, result: FetchResult, fetched_at: datetime,
                      index_fresh: bool) -> SourceOutcome:
        assert source.id is not None
        outcome = SourceOutcome(source.id, source.name, ok=True)
        if result.not_modified:
            outcome.not_modified = True
            return outcome
        items = await asyncio.get_running_loop().run_in_executor(
            self.parse_executor, parse_items, result.body, result.content_type, result.url,
            source.lang, fetched_at)
        unique, keys = _unique(source.id, items)
        # only entries not yet stored are classified: a re-poll of a known feed is cheap
        async with self._db_slots:
            known = await existing_keys(self.db, [g for g, _ in keys], [u for _, u in keys])
        fresh = [item for item, (guid, url) in zip(unique, keys, strict=True)
                 if guid not in known and url not in known]
        outcome.duplicate = len(items) - len(fresh)
        if not fresh:
            return outcome
        classifier = self.classifier_provider()
        records = await asyncio.to_thread(_records, source, fresh, classifier, fetched_at)
        async with self._db_slots:
            stored = await store_items(self.db, records, refresh=not index_fresh)
        outcome.new = stored.new
        outcome.duplicate += stored.duplicate
        return outcome

    async def _failed(self, source: Source, now: datetime, message: str,
                      retry_after: float | None) -> SourceOutcome:
        assert source.id is not None
        failures = source.error_count + 1
        delay = self._jittered(backoff_delay(source.poll_interval, failures))
        delay = min(delay, MAX_BACKOFF)
        if retry_after:
            delay = max(delay, min(timedelta(seconds=retry_after), MAX_SERVER_DELAY))
        next_poll_at = now + delay
        log.info("outlet %s failed (%d in a row): %s", source.name, failures, message)
        async with self._db_slots:
            await record_failure(self.db, source.id, now=now, next_poll_at=next_poll_at,
                                 error=message)
        return SourceOutcome(source.id, source.name, ok=False, error=message,
                             next_poll_at=next_poll_at)
