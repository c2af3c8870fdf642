"""Tuning topics through `TopicService` on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import Item, ItemOrg, ItemTopic, Organization, Source
from topics import TopicService, TuningError

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADMIN = 4242

ITEMS = [
    ("Субботник на берегу реки собрал сотни волонтёров",
     "Жители города вышли на субботник и очистили набережную."),
    ("В Астане открыли новый каток", "Каток будет работать до марта, вход свободный."),
    ("Страны ШОС провели совещание министров экологии",
     "Министры государств-членов Шанхайской организации сотрудничества обсудили охрану "
     "окружающей среды и изменение климата."),
    ("Старая новость о ветровой электростанции", "Новая ВЭС заработала в степи."),
]


async def _seed_items(db: Database) -> list[int]:
    """Three recent items and one old one (40 days), none scored yet."""
    ids = []
    async with db.session() as session, session.begin():
        source = Source(name="Test outlet", url="http://127.0.0.1/feed")
        session.add(source)
        await session.flush()
        for n, (title, text) in enumerate(ITEMS):
            age = timedelta(days=40 if n == 3 else 1, minutes=n)
            item = Item(source_id=source.id, guid_key=f"g{n}", url_key=f"http://127.0.0.1/{n}",
                        url=f"http://127.0.0.1/{n}", title=title, text=text, lang="ru",
                        published_at=NOW - age, content_hash=f"h{n}")
            session.add(item)
            await session.flush()
            ids.append(item.id)
    return ids


@pytest.fixture
async def service(db: Database) -> TopicService:
    topic_service = TopicService(db, SEEDS, ner=False)
    await topic_service.load()
    return topic_service


async def test_added_term_shows_in_preview_then_after_rescore(db: Database, service) -> None:
    ids = await _seed_items(db)
    preview = await service.preview("green", 7, {"action": "add_term", "term": "субботник",
                                                 "weight": 3.0}, now=NOW)
    assert [p.item_id for p in preview.gained] == [ids[0]]
    assert ids[2] in [p.item_id for p in preview.before]
    assert not preview.lost
    # a preview stores nothing
    assert not service.classifier.classify(*ITEMS[0]).on("green")

    assert await service.rescore(7, now=NOW) == 3  # the 40-day-old item is left alone
    await service.add_term("green", "субботник", 3.0, ADMIN)
    assert service.classifier.classify(*ITEMS[0]).on("green")
    await service.rescore(7, now=NOW)
    async with db.session() as session:
        rows = (await session.exec(select(ItemTopic).where(ItemTopic.topic_id == "green"))).all()
        on = {row.item_id for row in rows if row.on_topic}
        why = {row.item_id: row.why for row in rows}
        orgs = (await session.exec(
            select(Organization.key).join(ItemOrg, ItemOrg.org_id == Organization.id)
            .where(ItemOrg.item_id == ids[2])
        )).all()
    assert on == {ids[0], ids[2]}
    assert why[ids[0]][0][0] == "субботник"  # title and text: 3.0 x (2.0 + 1.5 / 2)
    assert why[ids[0]][0][1] == pytest.approx(8.25)
    assert "sco" in orgs


async def test_tuning_survives_a_restart_and_is_logged(db: Database, service) -> None:
    await service.add_term("green", "каток", -2.0, ADMIN)
    await service.set_threshold("sco", 0.6, ADMIN)
    await service.remove_term("green", "климат", ADMIN)
    await service.add_example("green", True, ADMIN, text="Волонтёры высадили тысячу саженцев "
                              "деревьев в парке, озеленение города продолжится.")
    await service.add_topic("water", {"ru": "Водные ресурсы"}, "Реки и каналы", ADMIN)
    await service.add_term("water", "водохранилище", 3.0, ADMIN)

    restarted = TopicService(db, SEEDS, ner=False)
    classifier = await restarted.load()
    assert classifier.threshold("sco") == 0.6
    assert "water" in classifier.topic_ids
    assert classifier.classify("Водохранилище наполнено", "").on("water")
    info = await restarted.describe("green")
    assert ("каток", -2.0) in info.rules and ("климат", 0.0) in info.rules
    assert info.positive_examples == 1
    assert "климат" not in [text for text, _ in classifier.classify("", "климат").why["green"]]
    log = await restarted.history()
    assert [c.action for c in log] == ["add_term", "add_topic", "add_example", "remove_term",
                                       "set_threshold", "add_term"]
    assert {c.actor_id for c in log} == {ADMIN}
    assert all(c.at.tzinfo is not None for c in log)
    assert log[-1].detail == {"term": "каток", "weight": -2.0}
    assert [c.action for c in await restarted.history("sco")] == ["set_threshold"]


async def test_examples_shift_weights(db: Database, service) -> None:
    text = "Волонтёры очистили берег озера от пластика и мусора. Экологи призвали к переработке."
    before = service.classifier.classify("", text).scores["green"]
    await service.add_example("green", False, ADMIN, text=text)
    after_negative = service.classifier.classify("", text).scores["green"]
    assert after_negative < before
    ids = await _seed_items(db)
    unseen = service.classifier.classify(*ITEMS[0]).scores["green"]
    await service.add_example("green", True, ADMIN, item_id=ids[0])
    assert service.classifier.classify(*ITEMS[0]).scores["green"] > unseen


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s: s.add_term("nope", "x", 1.0, ADMIN), "unknown_topic"),
        (lambda s: s.add_term("green", "  ", 1.0, ADMIN), "empty_term"),
        (lambda s: s.add_term("green", "x", 0, ADMIN), "bad_weight"),
        (lambda s: s.add_term("green", "x", float("nan"), ADMIN), "bad_weight"),
        (lambda s: s.remove_term("green", "никогда не было", ADMIN), "no_term"),
        (lambda s: s.set_threshold("green", 1.5, ADMIN), "bad_threshold"),
        (lambda s: s.add_example("green", True, ADMIN, item_id=999_999), "no_item"),
        (lambda s: s.add_example("green", True, ADMIN), "bad_example"),
        (lambda s: s.add_topic("Bad Id", {"ru": "x"}, "", ADMIN), "bad_topic_id"),
        (lambda s: s.add_topic("green", {"ru": "x"}, "", ADMIN), "topic_exists"),
        (lambda s: s.preview("green", 0), "days"),
    ],
)
async def test_bad_input_gets_a_readable_error(service, call, code) -> None:
    with pytest.raises(TuningError) as error:
        await call(service)
    assert error.value.code == code
    assert str(error.value) and "Traceback" not in str(error.value)
