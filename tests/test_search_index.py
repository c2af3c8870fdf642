"""Search through the real index on SQLite (FTS5) and PostgreSQL (tsvector): word forms, ё,
languages, filters, organisation aliases, ranking and clean-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import command

from storage.db import Database, alembic_config, upgrade
from storage.items import ItemRecord, TopicScore, store_items
from storage.models import Item, Source
from storage.orgs import org_ids
from storage.search import reindex, search
from storage.topics import ItemScores, replace_scores

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def add_items(db: Database, *items: dict[str, Any], source: str = "Kursiv",
                    url: str = "https://kz.kursiv.media/feed/") -> list[int]:
    """Store items (title, text, lang, days_ago, topics={id: score}, orgs=[key]) through the
    ingest's store_items, which indexes each in its own transaction."""
    async with db.session() as session:
        feed = (await session.exec(sa.select(Source).where(Source.url == url))).scalar()
        if feed is None:
            feed = Source(name=source, url=url)
            session.add(feed)
            await session.commit()
    records = [
        ItemRecord(
            source_id=feed.id, guid=f"{url}#{n}#{spec['title']}", url=f"{url}{n}/{spec['title']}",
            title=spec["title"], text=spec.get("text", ""), lang=spec.get("lang", "ru"),
            published_at=NOW - timedelta(days=spec.get("days_ago", 1)),
            content_hash=f"{url}#{n}#{spec['title']}", near_key="",
            scores=[TopicScore(topic, score, score >= 0.5)
                    for topic, score in spec.get("topics", {}).items()],
            orgs={key: 1 for key in spec.get("orgs", [])},
        )
        for n, spec in enumerate(items)
    ]
    result = await store_items(db, records)
    assert result.new == len(records)
    return result.new_ids


async def titles(db: Database, query: str, **kw: object) -> list[str]:
    page = await search(db, query, now=NOW, per_page=20, **kw)
    return [hit.title for hit in page.hits]


async def test_russian_word_forms_and_yo(db: Database) -> None:
    await add_items(
        db,
        {"title": "Энергетики Казахстана обсудили тарифы"},
        {"title": "Новая энергетическая стратегия", "text": "Правительство утвердило"},
        {"title": "Зелёная экономика: итоги года"},
        {"title": "Футбол: итоги тура"},
    )
    assert set(await titles(db, "энергетика")) == {
        "Энергетики Казахстана обсудили тарифы", "Новая энергетическая стратегия"}
    assert await titles(db, "зеленой экономики") == ["Зелёная экономика: итоги года"]
    assert await titles(db, "ЗЕЛЁНАЯ") == ["Зелёная экономика: итоги года"]
    assert await titles(db, "энергетика футбол") == []  # every word must match


async def test_kazakh_and_english_items(db: Database) -> None:
    await add_items(
        db,
        {"title": "Қазақстанның жасыл экономикасы дамып келеді", "lang": "kk"},
        {"title": "Kazakhstan expands renewable energy capacity", "lang": "en"},
        {"title": "Күн энергиясы Алматыда", "lang": "kk"},
    )
    assert await titles(db, "солнечная энергия Алматы") == []  # күн is not солнце
    assert await titles(db, "энергия алматы") == ["Күн энергиясы Алматыда"]
    assert await titles(db, "Қазақстан жасыл") == ["Қазақстанның жасыл экономикасы дамып келеді"]
    assert await titles(db, "renewable energies") == [
        "Kazakhstan expands renewable energy capacity"]


async def test_phrases_exclusions_and_filters(db: Database) -> None:
    await add_items(
        db,
        {"title": "Зелёная энергетика растёт", "topics": {"green": 0.9}, "days_ago": 2},
        {"title": "Энергетика и уголь", "topics": {"green": 0.2}, "days_ago": 20},
        {"title": "Энергетика зелёной зоны", "days_ago": 40, "lang": "kk"},
    )
    await add_items(db, {"title": "Энергетика на Tengri"}, source="Tengrinews",
                    url="https://tengrinews.kz/rss")
    assert await titles(db, '"зелёная энергетика"') == ["Зелёная энергетика растёт"]
    assert "Энергетика и уголь" not in await titles(db, "энергетика -уголь")
    assert await titles(db, "энергетика topic:green") == ["Зелёная энергетика растёт"]
    assert await titles(db, "энергетика source:tengri") == ["Энергетика на Tengri"]
    assert await titles(db, "энергетика lang:kk") == ["Энергетика зелёной зоны"]
    assert set(await titles(db, "энергетика since:7d")) == {
        "Зелёная энергетика растёт", "Энергетика на Tengri"}
    assert set(await titles(db, "since:2026-10-20")) == {
        "Зелёная энергетика растёт", "Энергетика и уголь", "Энергетика на Tengri"}
    page = await search(db, "энергетика source:nowhere", now=NOW)
    assert (page.total, page.query_hint) == (0, "unknown_source")
    page = await search(db, "энергетика since:вчера", now=NOW)
    assert page.query_hint == "bad_since" and page.total == 4


async def test_topic_filter_follows_rescoring(db: Database) -> None:
    """`topic:` is an index tag: when tuning rescores items, the search follows the new scores
    (and a topic id with `_`, which the tokenizers split on, is matched whole)."""
    kept, gained = await add_items(
        db,
        {"title": "Ветропарк в Жанатасе", "topics": {"green": 0.9}},
        {"title": "Ветропарк и субботник", "topics": {"green": 0.2}},
    )
    assert await titles(db, "ветропарк topic:green") == ["Ветропарк в Жанатасе"]
    await replace_scores(db, [
        ItemScores(kept, [("green", 0.1, False, [])], {}, {}),
        ItemScores(gained, [("green", 0.7, True, []), ("clean_air", 0.6, True, [])], {}, {}),
    ])
    assert await titles(db, "ветропарк topic:green") == ["Ветропарк и субботник"]
    assert await titles(db, "ветропарк topic:clean_air") == ["Ветропарк и субботник"]
    assert await titles(db, "ветропарк topic:clean") == []
    assert await titles(db, "ветропарк lang:ru source:kursiv") == [  # other tags are kept
        "Ветропарк и субботник", "Ветропарк в Жанатасе"]
    assert await titles(db, "жанатас") == ["Ветропарк в Жанатасе"]  # and so are the words


async def test_filters_do_not_change_the_ranking(db: Database) -> None:
    """Tags are matched, never ranked: PostgreSQL's ts_rank would otherwise score how far
    the words stand from the tags at the end of the text."""
    filler = " ".join(["Погода в регионе остаётся тёплой."] * 20)
    await add_items(
        db,
        {"title": "Ветер над степью", "text": filler, "topics": {"green": 0.9}},
        {"title": "Степь", "text": filler + " Подул ветер", "topics": {"green": 0.9}},
    )
    expected = ["Ветер над степью", "Степь"]  # the title match first
    assert await titles(db, "ветер") == expected
    assert await titles(db, "ветер topic:green") == expected
    assert await titles(db, "ветер lang:ru source:kursiv") == expected


async def test_migration_0006_tags_items_stored_before_it(db: Database) -> None:
    await add_items(db, {"title": "Ветропарк в Жанатасе", "topics": {"green": 0.9}})
    await asyncio.to_thread(command.downgrade, alembic_config(db.url), "0005")
    assert await titles(db, "ветропарк topic:green") == []  # the tag is gone with 0006
    assert await titles(db, "ветропарк lang:ru") == ["Ветропарк в Жанатасе"]
    await upgrade(db.url)
    assert await titles(db, "ветропарк topic:green") == ["Ветропарк в Жанатасе"]


async def test_ranking_relevance_recency_and_topic(db: Database) -> None:
    await add_items(
        db,
        {"title": "Ветер", "text": "Про погоду", "days_ago": 1},
        {"title": "Ветер", "text": "Про погоду", "days_ago": 1, "topics": {"green": 0.8}},
        {"title": "Ветровая электростанция", "text": "ветер ветер ветряки", "days_ago": 300},
    )
    page = await search(db, "ветер", now=NOW)
    assert page.total == 3
    assert page.hits[0].topics == ("green",)  # on-topic first when the rest ties
    assert page.hits[-1].title == "Ветровая электростанция"  # a year old


async def test_org_aliases_expand_across_languages(db: Database) -> None:
    from storage.orgs import add_alias

    await add_items(
        db,
        {"title": "Саммит ШОС в Астане", "orgs": ["sco"]},
        {"title": "SCO ministers meet in Astana", "lang": "en"},
        {"title": "ШЫҰ саммиті Астанада өтті", "lang": "kk"},
        {"title": "Шанхайская организация сотрудничества расширяется"},
    )
    async with db.session() as session:
        sco = (await org_ids(session, ["sco"]))["sco"]
    for alias in ("ШОС", "SCO", "ШЫҰ", "Шанхайская организация сотрудничества"):
        await add_alias(db, sco, alias, actor=1)
    for query in ("ШОС", "sco", "шыұ", "шанхайской организации сотрудничества"):
        assert len(await titles(db, query)) == 4, query
    assert set(await titles(db, "ШОС Астана")) == {  # Астанада: the Kazakh locative
        "Саммит ШОС в Астане", "ШЫҰ саммиті Астанада өтті"}


async def test_pages_and_totals(db: Database) -> None:
    await add_items(db, *({"title": f"Солнечная станция №{n}", "days_ago": n} for n in range(12)))
    first = await search(db, "солнечный", now=NOW, page=1, per_page=5)
    third = await search(db, "солнечный", now=NOW, page=3, per_page=5)
    assert (first.total, len(first.hits), len(third.hits)) == (12, 5, 2)
    assert first.hits[0].title == "Солнечная станция №0"
    assert first.hits[0].source == "Kursiv"


async def test_large_results_are_counted_up_to_a_cap(db: Database, monkeypatch) -> None:
    import storage.search

    monkeypatch.setattr(storage.search, "CANDIDATES", 3)
    monkeypatch.setattr(storage.search, "COUNT_CAP", 5)
    await add_items(db, *({"title": f"Газ №{n}", "days_ago": n} for n in range(8)))
    page = await search(db, "газ", now=NOW, per_page=2)
    assert (page.total, page.more, page.total_text, page.total_pages(2)) == (5, True, "5+", 2)
    # only the newest stored matches are ranked (the ingest stores news as it appears)
    assert [hit.title for hit in page.hits] == ["Газ №5", "Газ №6"]
    page = await search(db, "газ since:3d", now=NOW, per_page=2)
    assert (page.total, page.more, page.total_text) == (4, False, "4")


async def test_newest_matches_first_through_widening_id_ranges(db: Database, monkeypatch) -> None:
    import storage.search

    monkeypatch.setattr(storage.search, "FIRST_ID_RANGE", 2)  # PostgreSQL's id ranges
    monkeypatch.setattr(storage.search, "CANDIDATES", 3)
    monkeypatch.setattr(storage.search, "COUNT_CAP", 5)
    await add_items(db, *({"title": f"Нефть №{n}" if n % 2 else f"Газ №{n}",
                           "days_ago": 20 - n} for n in range(20)))
    page = await search(db, "нефть", now=NOW, per_page=3)
    assert [hit.title for hit in page.hits] == ["Нефть №19", "Нефть №17", "Нефть №15"]
    assert page.more and page.total_text.endswith("+")  # counted as far as it looked
    page = await search(db, "нефть №1", now=NOW, per_page=3)
    assert ([hit.title for hit in page.hits], page.more) == (["Нефть №1"], False)


async def test_deleted_items_leave_the_index_and_reindex_rebuilds(db: Database) -> None:
    ids = await add_items(db, {"title": "Водород"}, {"title": "Водородная долина"})
    async with db.session() as session:
        await session.exec(sa.delete(Item).where(Item.id == ids[0]))
        await session.commit()
    assert await titles(db, "водород") == ["Водородная долина"]
    assert await reindex(db) == 1
    assert await titles(db, "водород") == ["Водородная долина"]
