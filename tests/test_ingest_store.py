"""`store_items` on both backends: duplicates, races between polls, organisations, clusters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from storage.db import Database
from storage.items import ItemRecord, TopicScore, store_items
from storage.models import Item, ItemOrg, ItemTopic, Organization, Source
from storage.search import search
from storage.sources import insert_source

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WIND = "астана ветровый гвт жамбылский казахстан китай подписать соглашение электростанция"


async def outlet(db: Database, name: str) -> int:
    source = await insert_source(db, Source(name=name, url=f"http://{name}.test/rss"))
    assert source is not None and source.id is not None
    return source.id


def record(source_id: int, number: int, *, near_key: str | None = None,
           published: datetime = NOW, orgs: dict[str, int] | None = None) -> ItemRecord:
    return ItemRecord(
        source_id=source_id, guid=f"g{number}", url=f"http://s{source_id}.test/news/{number}",
        title=f"Новость {number}: солнечная электростанция в Туркестане",
        text="Станция мощностью 100 МВт обеспечит энергией 40 тысяч домов.", lang="ru",
        published_at=published, content_hash=f"h{number}",
        near_key=near_key if near_key is not None else f"уникальный{number} слово{number}",
        scores=[TopicScore("green", 0.8, True, [("солнечная электростанция", 4.0)]),
                TopicScore("sco", 0.0, False, [])],
        orgs=orgs or {},
    )


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_known_items_count_as_duplicates(db: Database) -> None:
    source = await outlet(db, "a")
    first = await store_items(db, [record(source, n) for n in range(3)])
    # a batch mixing stored and new items (as a concurrent poll would send) falls back to
    # one transaction per item
    again = await store_items(db, [record(source, n) for n in range(1, 5)])
    repeated = await store_items(db, [record(source, 9), record(source, 9)])
    assert (first.new, first.duplicate) == (3, 0)
    assert (again.new, again.duplicate) == (2, 2)
    assert (repeated.new, repeated.duplicate) == (1, 1)
    assert await count(db, Item) == 6
    assert await count(db, ItemTopic) == 12
    assert len(set(first.new_ids + again.new_ids + repeated.new_ids)) == 6


async def test_same_url_from_another_guid_is_a_duplicate(db: Database) -> None:
    source = await outlet(db, "a")
    original = record(source, 1)
    republished = record(source, 2)
    republished.url = original.url
    await store_items(db, [original])
    result = await store_items(db, [republished])
    assert (result.new, result.duplicate) == (0, 1)


async def test_concurrent_polls_store_each_item_once(db: Database) -> None:
    source = await outlet(db, "a")
    batch = [record(source, n) for n in range(40)]
    results = await asyncio.gather(*(store_items(db, batch) for _ in range(3)))
    assert sum(r.new for r in results) == 40
    assert sum(r.duplicate for r in results) == 80
    assert await count(db, Item) == 40


async def test_organisations_and_search_rows_are_written(db: Database) -> None:
    source = await outlet(db, "a")
    result = await store_items(db, [record(source, 1, orgs={"sco": 2, "samruk-energy": 1})])
    async with db.session() as session:
        rows = (await session.exec(select(Organization.key, ItemOrg.mentions).join(ItemOrg)
                                   .where(ItemOrg.item_id == result.new_ids[0]))).all()
    assert sorted(rows) == [("samruk-energy", 1), ("sco", 2)]
    page = await search(db, "солнечная электростанция", page=1, per_page=5, now=NOW)
    assert [hit.item_id for hit in page.hits] == result.new_ids


async def test_clusters_join_other_outlets_within_three_days(db: Database) -> None:
    a, b, c = [await outlet(db, name) for name in "abc"]
    first = await store_items(db, [record(a, 1, near_key=WIND)])
    same_outlet = await store_items(db, [record(a, 3, near_key=WIND)])  # not "also: ..."
    reworded = WIND.replace("подписать", "построить") + " компания"
    same_story = await store_items(db, [record(b, 2, near_key=reworded,
                                               published=NOW + timedelta(hours=5))])
    too_late = await store_items(db, [record(c, 4, near_key=WIND,
                                             published=NOW + timedelta(days=4))])
    other = await store_items(db, [record(c, 5)])
    async with db.session() as session:
        clusters = dict((await session.exec(select(Item.id, Item.cluster_id))).all())
    origin = first.new_ids[0]
    assert clusters[origin] == origin
    assert clusters[same_story.new_ids[0]] == origin
    for alone in (same_outlet, too_late, other):
        assert clusters[alone.new_ids[0]] == alone.new_ids[0]


async def test_two_outlets_wording_one_story_differently_share_a_cluster(db: Database) -> None:
    from feeds.normalize import near_key

    a, b, c = [await outlet(db, name) for name in "abc"]
    tengri = near_key(
        "В Жамбылской области запустили ветровую электростанцию мощностью 100 МВт",
        "Новая ВЭС под Жанатасом будет вырабатывать около 350 млн кВт·ч в год. Проект построен "
        "с участием китайской PowerChina, сообщили в Министерстве энергетики РК. Доля "
        "возобновляемых источников энергии в выработке электроэнергии Казахстана превысила 6%.")
    kursiv = near_key(
        "Под Жанатасом заработала ветровая электростанция на 100 МВт",
        "Ветровая электростанция мощностью 100 МВт в Жамбылской области введена в эксплуатацию. "
        "Её построила PowerChina; выработка составит около 350 млн кВт·ч в год.")
    other_plant = near_key(
        "В Жамбылской области начали строить солнечную электростанцию",
        "Станция мощностью 50 МВт появится под Таразом; инвестор из ОАЭ вложит 40 млн долларов.")
    first = await store_items(db, [record(a, 1, near_key=tengri)])
    second = await store_items(db, [record(b, 2, near_key=kursiv)])
    third = await store_items(db, [record(c, 3, near_key=other_plant)])
    async with db.session() as session:
        clusters = dict((await session.exec(select(Item.id, Item.cluster_id))).all())
    assert clusters[second.new_ids[0]] == first.new_ids[0]
    assert clusters[third.new_ids[0]] == third.new_ids[0]


async def test_organisations_are_created_with_the_items_naming_them(db: Database) -> None:
    source = await outlet(db, "a")
    await store_items(db, [record(source, 1)])
    # the batch fails on the known item and is redone item by item: the known item's new
    # organisation is rolled back with it, the new item's is kept
    result = await store_items(db, [record(source, 1, orgs={"ghost-holding": 1}),
                                    record(source, 2, orgs={"samruk-energy": 3})])
    assert (result.new, result.duplicate) == (1, 1)
    async with db.session() as session:
        keys = set((await session.exec(select(Organization.key))).all())
        mentions = (await session.exec(select(ItemOrg.mentions).where(
            ItemOrg.item_id == result.new_ids[0]))).all()
    assert "samruk-energy" in keys and "ghost-holding" not in keys
    assert mentions == [3]


async def test_concurrent_polls_naming_one_new_organisation_create_it_once(
        db: Database) -> None:
    a, b, c = [await outlet(db, name) for name in "abc"]
    results = await asyncio.gather(*(
        store_items(db, [record(source, n, orgs={"kegoc": 1, f"only-{source}": 1})
                         for n in range(5)])
        for source in (a, b, c)))
    assert [r.new for r in results] == [5, 5, 5]
    async with db.session() as session:
        named = (await session.exec(select(func.count()).select_from(ItemOrg).join(
            Organization).where(Organization.key == "kegoc"))).one()
        orgs = (await session.exec(select(func.count()).select_from(Organization).where(
            col(Organization.key).in_(["kegoc", f"only-{a}", f"only-{b}", f"only-{c}"])))).one()
    assert (named, orgs) == (15, 4)
