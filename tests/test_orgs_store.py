"""Organisations: the gazetteer in the store, fuzzy names across languages, counts, admin edits."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from test_search_index import NOW, add_items, titles

from storage.db import Database
from storage.models import ItemOrg, OrgAlias
from storage.orgs import (
    OrgError,
    add_alias,
    add_org,
    merge,
    org_ids,
    org_items,
    resolve,
    sync_gazetteer,
    top_orgs,
    weekly_counts,
)
from topics import load_gazetteer

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture
async def gazetteer_db(db: Database) -> Database:
    async with db.session() as session:
        await sync_gazetteer(session, load_gazetteer(SEEDS).entries)
        await session.commit()
    return db


async def keys(db: Database, name: str) -> list[str]:
    async with db.session() as session:
        return [match.key for match in await resolve(session, name)]


async def test_gazetteer_sync_is_idempotent(gazetteer_db: Database) -> None:
    async def count() -> int:
        async with gazetteer_db.session() as session:
            return (await session.exec(sa.select(sa.func.count()).select_from(OrgAlias))).one()[0]

    before = await count()
    async with gazetteer_db.session() as session:
        assert await sync_gazetteer(session, load_gazetteer(SEEDS).entries) == 0
        await session.commit()
    assert await count() == before > 50


@pytest.mark.parametrize("name", [
    "ШОС", "шос", "SCO", "ШЫҰ", "шанхайской организации сотрудничества",
    "Shanghai Cooperation Organisation", "Шанхайская организация сотрудничесва",  # typo
])
async def test_names_resolve_across_languages_forms_and_typos(gazetteer_db: Database,
                                                              name: str) -> None:
    assert await keys(gazetteer_db, name) == ["sco"]


async def test_unknown_and_ambiguous_names(gazetteer_db: Database) -> None:
    assert await keys(gazetteer_db, "qwertyuiop") == []
    assert await keys(gazetteer_db, "") == []
    assert len(await keys(gazetteer_db, "банк развития")) > 1  # several banks: a choice
    assert await keys(gazetteer_db, "секретариат шос") == ["sco_secretariat"]


async def test_org_ids_create_unknown_keys_and_follow_merges(db: Database) -> None:
    async with db.session() as session:
        ids = await org_ids(session, ["sco", "shos"])
        await session.commit()
    assert len(set(ids.values())) == 2
    await merge(db, ids["shos"], ids["sco"], actor=1)
    async with db.session() as session:
        assert await org_ids(session, ["shos"]) == {"shos": ids["sco"]}
    assert await keys(db, "shos") == ["sco"]
    async with db.session() as session:  # a new organisation is found by the name it came with
        await org_ids(session, ["green_fund"], {"green_fund": "Фонд «Зелёный мост»"})
        await session.commit()
    assert await keys(db, "фонда Зелёный мост") == ["green_fund"]


async def test_a_new_organisation_is_named_as_the_news_wrote_it(db: Database) -> None:
    key = "совет-министр-иностранный-дело"
    async with db.session() as session:
        ids = await org_ids(session, [key], {key: "Совет министров иностранных дел"})
        await session.commit()
    async with db.session() as session:
        (match,) = await resolve(session, "совет министров иностранных дел")
    assert (match.org_id, match.label("ru")) == (ids[key], "Совет министров иностранных дел")


async def test_merge_moves_mentions_and_aliases(db: Database) -> None:
    await add_items(db, {"title": "Саммит ШОС", "orgs": ["sco", "shos"]},
                    {"title": "Встреча ШОС", "orgs": ["shos"]})
    async with db.session() as session:
        ids = await org_ids(session, ["sco", "shos"])
    await add_alias(db, ids["shos"], "Шанхайская организация", actor=7)
    await merge(db, ids["shos"], ids["sco"], actor=7)
    async with db.session() as session:
        rows = (await session.exec(sa.select(ItemOrg.org_id, ItemOrg.mentions))).all()
    assert sorted(rows) == [(ids["sco"], 1), (ids["sco"], 2)]
    assert (await org_items(db, ids["sco"])).total == 2
    assert await keys(db, "шанхайской организации") == ["sco"]
    with pytest.raises(OrgError) as error:
        await merge(db, ids["shos"], ids["sco"], actor=7)
    assert error.value.code == "same_org"


async def test_admin_edits_refuse_bad_input(gazetteer_db: Database) -> None:
    async with gazetteer_db.session() as session:
        sco = (await resolve(session, "SCO"))[0]
        rats = (await resolve(session, "РАТС ШОС"))[0]
    with pytest.raises(OrgError) as error:
        await add_alias(gazetteer_db, rats.org_id, "ШОС", actor=1)
    assert (error.value.code, error.value.details["name"]) == ("alias_taken", sco.name)
    for key, name, code in (("Bad Key!", "X", "bad_key"), ("sco", "Другое", "org_exists"),
                            ("newco", "  ", "empty_alias")):
        with pytest.raises(OrgError) as error:
            await add_org(gazetteer_db, key, name, actor=1)
        assert error.value.code == code
    added = await add_org(gazetteer_db, "zhasyl_fund", "Фонд «Жасыл даму»", actor=1)
    assert await keys(gazetteer_db, "фонда «Жасыл даму»") == ["zhasyl_fund"] == [added.key]


async def test_top_orgs_weekly_counts_and_alias_search(gazetteer_db: Database) -> None:
    on = {"sco": 0.9}
    await add_items(
        gazetteer_db,
        {"title": "ШОС сегодня", "orgs": ["sco"], "topics": on, "days_ago": 1},
        {"title": "ШОС вчера", "orgs": ["sco"], "topics": on, "days_ago": 2},
        {"title": "SCO off topic", "orgs": ["sco"], "days_ago": 2, "lang": "en"},
        {"title": "Секретариат ШОС", "orgs": ["sco_secretariat"], "topics": on, "days_ago": 3},
        {"title": "ШЫҰ ескі жаңалық", "orgs": ["sco"], "topics": on, "days_ago": 20,
         "lang": "kk"},
    )
    top = await top_orgs(gazetteer_db, days=7, now=NOW)
    assert [(row.org.key, row.count) for row in top] == [("sco", 2), ("sco_secretariat", 1)]
    assert [row.count for row in await top_orgs(gazetteer_db, on_topic_only=False, now=NOW)][0] == 3
    sco = top[0].org
    assert await weekly_counts(gazetteer_db, sco.org_id, weeks=8, now=NOW) == [0] * 5 + [1, 0, 3]
    assert (await org_items(gazetteer_db, sco.org_id, per_page=2)).hits[0].title == "ШОС сегодня"
    assert len(await titles(gazetteer_db, "ШЫҰ")) == 5  # every SCO spelling, any language
