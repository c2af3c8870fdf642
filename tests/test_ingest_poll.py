"""The poll job against local outlets and both store backends: dedup, clusters, failures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from outlets import OutletServer, classifier, closed_port_url, outlets_fixture  # noqa: F401
from sqlalchemy import func
from sqlmodel import select

from feeds import Fetcher, FetchLimits, Poller, failing_sources, mark_failure_notified
from storage.db import Database
from storage.models import Item, ItemOrg, ItemTopic, Organization, Source
from storage.sources import get_source, insert_source

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Counting:
    """The real classifier, counting how many items it was asked about."""

    def __init__(self) -> None:
        self.inner = classifier()
        self.topic_ids = self.inner.topic_ids
        self.seen = 0

    def classify_many(self, items: Sequence[tuple[str, str, str | None]]) -> list:
        self.seen += len(items)
        return self.inner.classify_many(items)


async def add(db: Database, url: str, name: str = "Outlet", lang: str = "ru",
              interval: int = 900) -> Source:
    source = await insert_source(db, Source(name=name, url=url, lang=lang,
                                            poll_interval=interval))
    assert source is not None
    return source


async def rows(db: Database, query):
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def test_poll_stores_once_and_repolls_cheaply(db: Database, outlets: OutletServer) -> None:
    source = await add(db, outlets.serve("/rss.xml", "rss2_ru.xml"), "Tengri")
    counting = Counting()
    async with Fetcher() as fetcher:
        poller = Poller(db, fetcher, lambda: counting, jitter=0)
        first = await poller.poll_all()
        second = await poller.poll_all()  # the outlet answers 304
        validated = await get_source(db, source.id)
        outlets.routes["/rss.xml"].conditional = False  # now it ignores validators
        third = await poller.poll_all()

    assert (first.ok, first.failed, first.new, first.duplicate) == (1, 0, 4, 0)
    assert second.not_modified == 1 and second.new == 0
    assert (third.new, third.duplicate) == (0, 4)
    assert counting.seen == 4  # known items are never classified again
    assert outlets.routes["/rss.xml"].not_modified == 1

    items = {item.title: item for item in await rows(db, select(Item))}
    solar = items["В Туркестанской области запустили солнечную электростанцию мощностью 100 МВт"]
    assert solar.url == "http://news.test/ru/news/solar-turkestan-100mw/"
    assert solar.guid_key == f"{source.id}:news-1001" and solar.cluster_id == solar.id
    topics = {(t.item_id, t.topic_id): t for t in await rows(db, select(ItemTopic))}
    assert len(topics) == 4 * len(counting.topic_ids)  # every topic scored, on or off
    assert topics[solar.id, "green"].on_topic and topics[solar.id, "green"].why
    sco = items["Министры иностранных дел стран ШОС соберутся в Астане"]
    assert topics[sco.id, "sco"].on_topic
    orgs = await rows(db, select(Organization.key).join(ItemOrg)
                      .where(ItemOrg.item_id == sco.id))
    assert "sco" in orgs

    stored = await get_source(db, source.id)
    assert stored.items_total == 4 and stored.error_count == 0
    assert validated.etag == outlets.routes["/rss.xml"].etag and validated.last_modified
    assert stored.last_success_at is not None and stored.next_poll_at > stored.last_success_at


async def test_duplicate_guids_and_republished_urls(db: Database, outlets: OutletServer) -> None:
    await add(db, outlets.serve("/dups.xml", "dup_guids.xml"))
    async with Fetcher() as fetcher:
        summary = await Poller(db, fetcher, classifier).poll_all()
    assert (summary.new, summary.duplicate) == (2, 2)
    titles = sorted(await rows(db, select(Item.title)))
    assert titles == ["В Шымкенте открыли новый парк",
                      "Правительство утвердило план по снижению выбросов парниковых газов"]


async def test_same_story_from_two_outlets_is_one_cluster(
        db: Database, outlets: OutletServer) -> None:
    a = await add(db, outlets.serve("/a.xml", "cluster_a.xml"), "Outlet A")
    b = await add(db, outlets.serve("/b.xml", "cluster_b.xml"), "Outlet B")
    async with Fetcher() as fetcher:
        poller = Poller(db, fetcher, classifier)
        await poller.poll_all([a])
        await poller.poll_all([b])
    clusters = {r.title: (r.id, r.cluster_id) for r in
                await rows(db, select(Item.id, Item.title, Item.cluster_id))}
    first = clusters["Казахстан и Китай подписали соглашение о строительстве ветровой "
                     "электростанции мощностью 1 ГВт"]
    second = clusters["Китай построит в Казахстане ветровую электростанцию на 1 ГВт"]
    assert first[1] == first[0] and second[1] == first[0]
    others = [v for k, v in clusters.items() if "ветров" not in k]
    assert len(others) == 2 and all(item_id == cluster for item_id, cluster in others)


@pytest.mark.parametrize("refresh_fails", [False, True])
async def test_a_poll_clusters_with_what_another_process_stored_meanwhile(
        db: Database, outlets: OutletServer, monkeypatch: pytest.MonkeyPatch,
        refresh_fails: bool) -> None:
    if refresh_fails:  # the poll's one refresh fails: each outlet's store refreshes instead
        async def broken(*_args: object) -> None:
            raise OSError("store unreachable for a moment")

        monkeypatch.setattr("feeds.poll.refresh_near_index", broken)
    a = await add(db, outlets.serve("/a.xml", "cluster_a.xml"), "Outlet A")
    b = await add(db, outlets.serve("/b.xml", "cluster_b.xml"), "Outlet B")
    c = await add(db, outlets.serve("/c.xml", "rss2_ru.xml"), "Outlet C")
    other_process = Database(db.engine.url.render_as_string(hide_password=False))
    try:
        async with Fetcher() as fetcher:
            poller = Poller(db, fetcher, classifier, clock=lambda: NOW)
            await poller.poll_all([c])  # this process's near index is up to date now ...
            await Poller(other_process, fetcher, classifier, clock=lambda: NOW).poll_all([b])
            await poller.poll_all([a])  # ... and must learn of B's items before storing A's
    finally:
        await other_process.dispose()
    clusters = {r.title: (r.id, r.cluster_id) for r in
                await rows(db, select(Item.id, Item.title, Item.cluster_id))}
    first = clusters["Китай построит в Казахстане ветровую электростанцию на 1 ГВт"]
    second = clusters["Казахстан и Китай подписали соглашение о строительстве ветровой "
                      "электростанции мощностью 1 ГВт"]
    assert first[1] == first[0] and second[1] == first[0]


async def test_failing_outlet_backs_off_to_six_hours_and_recovers(
        db: Database, outlets: OutletServer) -> None:
    source = await add(db, outlets.serve("/feed.xml", status=500), interval=900)
    clock = [NOW]
    async with Fetcher() as fetcher:
        poller = Poller(db, fetcher, classifier, clock=lambda: clock[0], jitter=0)
        waits = []
        for _ in range(8):
            outcome = await poller.poll_source(await get_source(db, source.id))
            assert not outcome.ok and outcome.error == "HTTP 500 Internal Server Error"
            waits.append((outcome.next_poll_at - clock[0]).total_seconds() / 60)
            clock[0] = outcome.next_poll_at
        failing = await get_source(db, source.id)
        outlets.serve("/feed.xml", "rss2_ru.xml")
        recovered = await poller.poll_source(failing)

    assert waits == [15, 30, 60, 120, 240, 360, 360, 360]  # minutes, capped at 6 h
    assert failing.error_count == 8 and failing.total_errors == 8
    assert failing.first_failure_at == NOW
    assert failing.last_error == "HTTP 500 Internal Server Error"
    assert failing.last_success_at is None
    assert recovered.ok and recovered.new == 4
    healed = await get_source(db, source.id)
    assert (healed.error_count, healed.total_errors, healed.last_error) == (0, 8, None)
    assert healed.first_failure_at is None and healed.last_success_at == clock[0]


async def test_jitter_spreads_the_next_poll(sqlite_db: Database, outlets: OutletServer) -> None:
    source = await add(sqlite_db, outlets.serve("/feed.xml", "atom_en.xml"), interval=1000)
    async with Fetcher() as fetcher:
        poller = Poller(sqlite_db, fetcher, classifier, clock=lambda: NOW, jitter=0.1)
        outcome = await poller.poll_source(source)
    assert 900 <= (outcome.next_poll_at - NOW).total_seconds() <= 1100


async def test_retry_after_and_max_age_push_the_next_poll(
        sqlite_db: Database, outlets: OutletServer) -> None:
    busy = await add(sqlite_db, outlets.serve("/busy.xml", status=429,
                                              headers={"Retry-After": "7200"}))
    cached = await add(sqlite_db, outlets.serve("/cached.xml", "atom_en.xml",
                                                headers={"Cache-Control": "max-age=3600"}))
    async with Fetcher() as fetcher:
        poller = Poller(sqlite_db, fetcher, classifier, clock=lambda: NOW, jitter=0)
        busy_outcome = await poller.poll_source(busy)
        cached_outcome = await poller.poll_source(cached)
    assert busy_outcome.error == "HTTP 429 Too Many Requests (retry after 7200 s)"
    assert busy_outcome.next_poll_at == NOW + timedelta(seconds=7200)
    assert cached_outcome.ok and cached_outcome.next_poll_at == NOW + timedelta(hours=1)


async def test_poll_due_only_takes_due_enabled_outlets(
        db: Database, outlets: OutletServer) -> None:
    due = await add(db, outlets.serve("/due.xml", "rss1_kk.xml"), "Due", "kk")
    later = await add(db, outlets.serve("/later.xml", "atom_en.xml"), "Later")
    paused = await add(db, outlets.serve("/paused.xml", "rss2_ru.xml"), "Paused")
    async with db.session() as session:
        (await session.get(Source, later.id)).next_poll_at = NOW + timedelta(minutes=5)
        (await session.get(Source, paused.id)).enabled = False
        await session.commit()
    async with Fetcher() as fetcher:
        poller = Poller(db, fetcher, classifier, clock=lambda: NOW, start_spread=0.05)
        summary = await poller.poll_due()
    assert [o.source_id for o in summary.outcomes] == [due.id]
    assert summary.new == 3
    assert outlets.routes["/later.xml"].hits == outlets.routes["/paused.xml"].hits == 0


async def test_every_kind_of_failure_is_reported_and_others_go_on(
        sqlite_db: Database, outlets: OutletServer) -> None:
    cases = [
        (outlets.serve("/page", "page.html"),
         "not a feed: the server sent an HTML page; the page links a feed at "
         + outlets.url("/ru/rss.xml")),
        (outlets.serve("/empty", "empty.xml"), "empty body: the server answered without content"),
        (closed_port_url(), "connection refused"),
        (outlets.serve("/loop", redirect="/loop"),
         f"redirect loop: {outlets.url('/loop')} → {outlets.url('/loop')}"),
        (outlets.serve("/slow", "rss2_ru.xml", delay=1.0), "server did not answer within 0.2 s"),
    ]
    expected = {(await add(sqlite_db, url)).id: message for url, message in cases}
    good = await add(sqlite_db, outlets.serve("/good.xml", "broken.xml"))
    async with Fetcher(FetchLimits(read_timeout=0.2)) as fetcher:
        summary = await Poller(sqlite_db, fetcher, classifier).poll_all()
    assert (summary.ok, summary.failed, summary.new) == (1, 5, 1)
    errors = {o.source_id: o.error for o in summary.outcomes}
    assert errors[good.id] is None
    for source_id, message in expected.items():
        assert errors[source_id] == message
        assert (await get_source(sqlite_db, source_id)).last_error == message


async def test_failing_sources_are_reported_once(db: Database, outlets: OutletServer) -> None:
    broken = await add(db, outlets.serve("/broken", status=503), "Broken")
    await add(db, outlets.serve("/fine.xml", "atom_en.xml"), "Fine")
    async with Fetcher() as fetcher:
        await Poller(db, fetcher, classifier, clock=lambda: NOW).poll_all()
    assert await failing_sources(db, timedelta(hours=1), NOW) == []
    later = NOW + timedelta(hours=2)
    assert [s.id for s in await failing_sources(db, timedelta(hours=1), later)] == [broken.id]
    await mark_failure_notified(db, [broken.id], later)
    assert await failing_sources(db, timedelta(hours=1), later) == []


async def test_items_per_source_are_counted(db: Database, outlets: OutletServer) -> None:
    await add(db, outlets.serve("/x.xml", "rss2_ru.xml"))
    await add(db, outlets.serve("/y.xml", "rss1_kk.xml"), lang="kk")
    async with Fetcher() as fetcher:
        await Poller(db, fetcher, classifier).poll_all()
    counts = await rows(db, select(Item.lang, func.count()).group_by(Item.lang).order_by(Item.lang))
    assert [tuple(r) for r in counts] == [("kk", 3), ("ru", 4)]


async def test_wrong_charset_header_still_gives_cyrillic(
        sqlite_db: Database, outlets: OutletServer) -> None:
    await add(sqlite_db, outlets.serve("/1251.xml", "cp1251_ru.xml",
                                       content_type="application/rss+xml; charset=utf-8"))
    await add(sqlite_db, outlets.serve("/koi8.xml", "wrong_charset_koi8.xml",
                                       content_type="text/xml; charset=windows-1251"))
    async with Fetcher() as fetcher:
        summary = await Poller(sqlite_db, fetcher, classifier).poll_all()
    assert (summary.ok, summary.new, summary.duplicate) == (2, 2, 2)  # same story, same URL
    titles = sorted(await rows(sqlite_db, select(Item.title)))
    assert titles == ["Акимат Алматы представил программу по улучшению качества воздуха",
                      "Ерлан Карин рассказал о подготовке к саммиту ШОС"]


async def test_an_admin_added_outlet_may_not_reach_private_addresses_on_a_poll(
        sqlite_db: Database, outlets: OutletServer) -> None:
    await add(sqlite_db, outlets.serve("/listed.xml", "rss2_ru.xml"), "From the file")
    added = await insert_source(sqlite_db, Source(name="Added by an admin", added_by=42,
                                                  url=outlets.serve("/added.xml", "atom_en.xml")))
    assert added is not None
    async with Fetcher() as fetcher:
        summary = await Poller(sqlite_db, fetcher, classifier, jitter=0,
                               allow_private_added=False).poll_all()
    outcomes = {outcome.name: outcome for outcome in summary.outcomes}
    assert outcomes["From the file"].ok and outcomes["From the file"].new == 4
    refused = outcomes["Added by an admin"]
    assert not refused.ok and "private" in (refused.error or "").lower()
    assert outlets.routes["/added.xml"].hits == 0
