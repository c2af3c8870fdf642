"""The outlet list: seeding from the TOML file, admin additions, pausing and removal."""

from __future__ import annotations

from pathlib import Path

import pytest
from outlets import OutletServer, classifier, outlets_fixture  # noqa: F401
from sqlalchemy import func
from sqlmodel import select

from feeds import (
    Fetcher,
    Poller,
    SourceError,
    add_source,
    list_sources,
    load_sources_file,
    remove_source,
    set_source_enabled,
    sync_sources,
)
from storage.db import Database
from storage.models import Item, ItemTopic

DEFAULT_LIST = Path(__file__).resolve().parent.parent / "feeds" / "sources.toml"


async def test_default_list_seeds_the_store_and_keeps_admin_changes(db: Database) -> None:
    first = await sync_sources(db, DEFAULT_LIST)
    sources = await list_sources(db)
    assert first.added == len(sources) == 26
    by_url = {s.url: s for s in sources}
    tengri = by_url["https://tengrinews.kz/news.rss"]
    assert (tengri.name, tengri.lang, tengri.enabled, tengri.poll_interval) == (
        "Tengrinews", "ru", True, 600)
    assert by_url["https://kaz.inform.kz/rss/kz.xml"].lang == "kk"
    low = [s.name for s in sources if s.confidence == "low"]
    assert low == ["QazaqGreen", "SCO Secretariat"]
    assert not any(s.enabled for s in sources if s.confidence == "low")

    await set_source_enabled(db, tengri.id, False)
    again = await sync_sources(db, DEFAULT_LIST)
    assert (again.added, again.updated) == (0, 0)
    assert not next(s for s in await list_sources(db) if s.id == tengri.id).enabled


def test_bad_sources_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "X"\nurl = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"source #1: `url` must be an http\(s\) URL"):
        load_sources_file(path)
    path.write_text('[[source]]\nname = "X"\nurl = "http://x.kz/rss"\nlang = "de"\n')
    with pytest.raises(SourceError, match="`lang` must be one of ru, kk, en"):
        load_sources_file(path)


async def test_admin_adds_a_feed(db: Database, outlets: OutletServer) -> None:
    kk = outlets.serve("/kk.xml", "rss1_kk.xml")
    async with Fetcher() as fetcher:
        source = await add_source(db, fetcher, kk, added_by=42, allow_private=True)
        with pytest.raises(SourceError, match="already in the list"):
            await add_source(db, fetcher, kk, allow_private=True)
    assert (source.name, source.lang, source.added_by, source.enabled) == (
        "Сынақ жаңалықтары", "kk", 42, True)


async def test_admin_gets_a_reason_when_a_url_is_not_a_feed(
        sqlite_db: Database, outlets: OutletServer) -> None:
    page = outlets.serve("/", "page.html")
    async with Fetcher() as fetcher:
        with pytest.raises(SourceError) as caught:
            await add_source(sqlite_db, fetcher, page, allow_private=True)
        assert caught.value.message.endswith(f"links a feed at {outlets.url('/ru/rss.xml')}")
        with pytest.raises(SourceError, match="private or local address"):
            await add_source(sqlite_db, fetcher, outlets.serve("/a.xml", "atom_en.xml"))
        with pytest.raises(SourceError, match="must start with http:// or https://"):
            await add_source(sqlite_db, fetcher, "javascript:alert(1)", allow_private=True)
        with pytest.raises(SourceError, match="HTTP 404"):
            await add_source(sqlite_db, fetcher, outlets.url("/missing"), allow_private=True)
    assert await list_sources(sqlite_db) == []


async def test_pause_resume_and_remove(db: Database, outlets: OutletServer) -> None:
    async with Fetcher() as fetcher:
        source = await add_source(db, fetcher, outlets.serve("/r.xml", "rss2_ru.xml"),
                                  name="Тест", allow_private=True)
        await Poller(db, fetcher, classifier).poll_all()
        paused = await set_source_enabled(db, source.id, False)
        assert not paused.enabled
        assert (await Poller(db, fetcher, classifier).poll_all()).outcomes == []
        resumed = await set_source_enabled(db, source.id, True)
        assert resumed.enabled and resumed.next_poll_at is None  # due at once
    assert await set_source_enabled(db, 999, True) is None

    assert await remove_source(db, source.id)
    assert not await remove_source(db, source.id)
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Item))).one() == 0
        assert (await session.exec(select(func.count()).select_from(ItemTopic))).one() == 0
    assert await list_sources(db) == []
