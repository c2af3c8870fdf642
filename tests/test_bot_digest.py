"""Digests through the Telegram stand-in: /digest, the scheduled minute, splitting, clusters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select
from telegram_stub import BotHarness, add_item, add_topics

from bot.digest.render import MAX_MESSAGE, render_digest, to_plain
from bot.scheduler import Jobs
from storage.chats import update_chat
from storage.digests import DigestEntry
from storage.models import Outbox

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 08:00 in Almaty


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_digest_now_groups_escapes_clusters_and_then_says_nothing_new(sqlite_db) -> None:
    clock = Clock(NOW)
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=42, lang="en")
        clock.now = NOW + timedelta(hours=2)
        fetched = NOW + timedelta(hours=1)
        first = await add_item(sqlite_db, "Solar <plant> & wind", score=0.9, fetched_at=fetched,
                               outlet="Kursiv")
        await add_item(sqlite_db, "Solar plant opens", score=0.6, fetched_at=fetched,
                       outlet="Tengrinews", cluster_id=first)
        await add_item(sqlite_db, "SCO summit in Astana", topic="sco", score=0.8,
                       fetched_at=fetched, outlet="Inform.kz")
        await add_item(sqlite_db, "Green bonds", score=0.5, fetched_at=fetched, outlet="LS")

        replies = await h.send("/digest", chat_id=42, lang="en")
        assert len(replies) == 1
        digest = replies[0]
        assert digest.link_preview_options == {"is_disabled": True}
        assert "Solar &lt;plant&gt; &amp; wind" in digest.text  # escaped in HTML
        text = digest.plain
        assert text.index("Green development") < text.index("1. Solar <plant> & wind")
        assert text.index("1. Solar <plant>") < text.index("2. Green bonds") < text.index(
            "SCO") < text.index("3. SCO summit")
        assert "also: Tengrinews" in text and "Solar plant opens" not in text
        assert "Kursiv, 09:00" in text  # local time in Almaty (UTC+5)

        replies = await h.send("/digest", chat_id=42, lang="en")
        assert replies[0].plain == (
            "Nothing new since 25.11.2026 10:00. Look again later or try /latest.")


async def test_scheduled_digest_arrives_at_the_minute_once(sqlite_db) -> None:
    clock = Clock(NOW - timedelta(days=1))
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=7, lang="ru")
        await h.send("/start", chat_id=8, lang="ru")  # nothing on its topic: no message
        h.stub.sent.clear()
        await update_chat(sqlite_db, 8, topics=["sco"])
        await add_item(sqlite_db, "Ветровая станция", fetched_at=NOW - timedelta(hours=3))
        jobs = Jobs(db=sqlite_db, settings=h.settings, deliverer=h.dp["deliverer"], clock=clock,
                    background=False)

        clock.now = datetime(2026, 11, 25, 3, 59, 30, tzinfo=UTC)  # 08:59:30 local
        await jobs.digest()
        assert h.stub.sent_to(7) == []

        clock.now = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)  # 09:00:05 local
        await jobs.digest()
        sent = h.stub.sent_to(7)
        assert len(sent) == 1 and "1. Ветровая станция" in sent[0].plain
        assert h.stub.sent_to(8) == []

        clock.now += timedelta(minutes=1)
        await jobs.digest()
        assert len(h.stub.sent_to(7)) == 1
        async with sqlite_db.session() as session:
            rows = {r.chat_id: r for r in (await session.exec(select(Outbox))).all()}
        assert rows[7].status == "sent" and rows[7].period == "2026-11-25"
        assert rows[8].status == "empty"


def _entry(i: int) -> DigestEntry:
    return DigestEntry(item_id=i, title=f"Item {i} " + "x" * 150, url=f"https://e.kz/{i}",
                       outlet="Kursiv", published_at=NOW, topic_id="green", score=1 - i / 1000)


def test_long_digest_splits_between_items_under_the_limit() -> None:
    entries = [_entry(i) for i in range(1, 121)]
    parts = render_digest([("green", entries)], header="<b>Digest</b>", names={}, lang="en",
                          tz="Asia/Almaty", now=NOW)
    assert len(parts) > 1
    assert all(len(p) <= MAX_MESSAGE for p in parts)
    numbers = [line.split(".")[0] for p in parts for line in to_plain(p).splitlines()
               if line[:1].isdigit()]
    assert numbers == [str(i) for i in range(1, 121)]  # every item once, in order
    assert all(to_plain(p).splitlines()[0] in ("Digest", "green") for p in parts)


async def test_message_too_long_is_split_and_sent(sqlite_db) -> None:
    clock = Clock(NOW)
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=9, lang="en")
        for i in range(6):
            await add_item(sqlite_db, f"Story {i}", fetched_at=NOW + timedelta(minutes=i + 1))
        clock.now = NOW + timedelta(hours=1)
        h.stub.fail_next("sendMessage", 400, "Bad Request: message is too long", chat_id=9)
        await h.send("/digest", chat_id=9)
        sent = h.stub.sent_to(9)[1:]
        assert len(sent) == 2
        text = "\n".join(s.plain for s in sent)
        assert all(f"Story {i}" in text for i in range(6))
        async with sqlite_db.session() as session:
            row = (await session.exec(select(Outbox).where(Outbox.kind == "manual"))).one()
        assert row.status == "sent" and row.message_ids == [s.message_id for s in sent]


async def test_latest_and_topics(sqlite_db) -> None:
    await add_topics(sqlite_db)
    await add_item(sqlite_db, "Старое о ветре", fetched_at=NOW - timedelta(hours=5))
    await add_item(sqlite_db, "Свежий саммит ШОС", topic="sco", fetched_at=NOW - timedelta(hours=1))
    async with BotHarness(sqlite_db, clock=Clock(NOW)) as h:
        (latest,) = await h.send("/latest", lang="en")
        text = latest.plain
        assert text.index("1. Свежий саммит ШОС") < text.index("2. Старое о ветре")
        (latest,) = await h.send("/latest green", lang="en")
        assert "ШОС" not in latest.plain and "Старое о ветре" in latest.plain
        (latest,) = await h.send("/latest sport", lang="en")
        assert latest.plain == "I don't know the topic “sport”. Topics: green, sco."
        (topics,) = await h.send("/topics", lang="en")
        assert "Green development (green): about green" in topics.plain


def test_due_periods_daily_weekly_and_time_zones() -> None:
    from bot.digest.build import due_chats, due_period
    from storage.models import Chat

    created = datetime(2026, 11, 1, tzinfo=UTC)
    daily = Chat(id=1, digest_time="09:00", tz="Asia/Almaty", created_at=created)
    weekly = Chat(id=2, frequency="weekly", digest_time="08:00", created_at=created)
    moscow = Chat(id=3, digest_time="09:00", tz="Europe/Moscow", created_at=created)
    off = Chat(id=4, frequency="off", created_at=created)
    wednesday = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 09:00 Almaty, 07:00 Moscow
    assert due_period(daily, wednesday)[0] == "2026-11-25"
    assert due_period(daily, wednesday - timedelta(seconds=1)) is None
    assert due_period(moscow, wednesday) is None
    assert due_period(weekly, wednesday)[0] == "2026-W48"  # due since Monday 08:00
    assert due_period(off, wednesday) is None

    due = due_chats([daily, weekly, moscow, off], wednesday, planned={(2, "2026-W48")})
    assert [(d.chat.id, d.period) for d in due] == [(1, "2026-11-25")]
    assert due[0].since == wednesday - timedelta(days=1)  # no digest yet: the last day

    late = Chat(id=5, digest_time="09:00", created_at=wednesday + timedelta(minutes=1))
    later = wednesday + timedelta(minutes=2)
    assert due_chats([late], later, planned=set()) == []  # starts with tomorrow's


async def test_an_item_stored_after_the_digest_read_is_in_the_next_one_once(sqlite_db) -> None:
    """A poll stamps fetched_at at its start and commits at its end: an item stamped before a
    digest but stored after it reached the digest's window comes in the next digest."""
    clock = Clock(NOW - timedelta(days=1))
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=7, lang="en")
        h.stub.sent.clear()
        jobs = Jobs(db=sqlite_db, settings=h.settings, deliverer=h.dp["deliverer"], clock=clock,
                    background=False)
        digest_at = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)  # 09:00:05 in Almaty
        await add_item(sqlite_db, "Early wind farm", fetched_at=digest_at - timedelta(minutes=20))
        clock.now = digest_at
        await jobs.digest()
        # The poll that started before the digest commits only now.
        await add_item(sqlite_db, "Late solar park", fetched_at=digest_at - timedelta(seconds=3))

        clock.now = digest_at + timedelta(days=1)
        await jobs.digest()
        clock.now = digest_at + timedelta(days=2)
        await add_item(sqlite_db, "Third day news", fetched_at=clock.now - timedelta(hours=1))
        await jobs.digest()
    first, second, third = (s.plain for s in h.stub.sent_to(7))
    assert "1. Early wind farm" in first and "Late solar park" not in first
    assert "1. Late solar park" in second and "Early wind farm" not in second
    assert "1. Third day news" in third
    assert "Late solar park" not in third and "Early wind farm" not in third


async def test_an_alert_sent_story_is_not_repeated_by_alerts_or_the_digest(sqlite_db) -> None:
    clock = Clock(NOW - timedelta(days=1))
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=7, lang="en")
        await update_chat(sqlite_db, 7, frequency="instant")
        h.stub.sent.clear()
        jobs = Jobs(db=sqlite_db, settings=h.settings, deliverer=h.dp["deliverer"], clock=clock,
                    background=False)
        clock.now = NOW + timedelta(minutes=50)  # 08:50 in Almaty
        await add_item(sqlite_db, "Big green news", score=0.95,
                       fetched_at=clock.now - timedelta(minutes=5))
        await jobs.alerts()
        await jobs.alerts()
        clock.now = NOW + timedelta(hours=1, seconds=5)  # the digest at 09:00
        await add_item(sqlite_db, "Small green news", fetched_at=clock.now - timedelta(minutes=1))
        await jobs.alerts()
        await jobs.digest()
    alert, digest = (s.plain for s in h.stub.sent_to(7))
    assert "Big green news" in alert
    assert "1. Small green news" in digest and "Big green news" not in digest


async def test_stories_past_the_per_topic_cap_are_counted_with_the_search_that_lists_them(
        sqlite_db) -> None:
    clock = Clock(NOW - timedelta(days=1))
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=7, lang="en")
        h.stub.sent.clear()
        for i in range(23):
            await add_item(sqlite_db, f"Green story {i}", score=0.9 - i / 100,
                           fetched_at=NOW - timedelta(hours=1, minutes=i))
        await add_item(sqlite_db, "SCO story", topic="sco", fetched_at=NOW - timedelta(hours=1))
        jobs = Jobs(db=sqlite_db, settings=h.settings, deliverer=h.dp["deliverer"], clock=clock,
                    background=False)
        clock.now = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)  # 09:00:05 in Almaty
        await jobs.digest()
    text = "\n".join(s.plain for s in h.stub.sent_to(7))
    assert "20. Green story 19 — Kursiv" in text and "Green story 20" not in text
    lines = text.splitlines()
    more = lines.index("…and 3 more: /search topic:green since:2d")
    assert lines[more - 1].startswith("20. Green story 19") and lines[more + 2] == "SCO"
    assert "21. SCO story" in text and text.count("more: /search") == 1


async def test_items_without_a_web_link_are_listed_by_title_and_the_digest_goes_out(
        sqlite_db) -> None:
    clock = Clock(NOW)
    await add_topics(sqlite_db)
    async with BotHarness(sqlite_db, clock=clock) as h:
        await h.send("/start", chat_id=9, lang="en")
        fetched = NOW + timedelta(minutes=5)
        await add_item(sqlite_db, "No link <at all>", score=0.9, url="/news/1",
                       fetched_at=fetched)
        await add_item(sqlite_db, "Script link", score=0.8, url="javascript:alert(1)",
                       fetched_at=fetched)
        await add_item(sqlite_db, "Web link", score=0.7, url="https://kursiv.kz/a?b=1&c=2",
                       fetched_at=fetched)
        clock.now = NOW + timedelta(hours=1)
        (digest,) = await h.send("/digest", chat_id=9)
    assert "1. No link &lt;at all&gt; — Kursiv" in digest.text
    assert "2. Script link — Kursiv" in digest.text
    assert '3. <a href="https://kursiv.kz/a?b=1&amp;c=2">Web link</a>' in digest.text
    assert digest.text.count("<a ") == 1


def test_an_empty_link_renders_the_plain_title() -> None:
    entry = DigestEntry(item_id=1, title="A & B", url="", outlet="LS", published_at=NOW,
                        topic_id="green", score=0.5)
    (part,) = render_digest([("green", [entry])], header="<b>Digest</b>", names={}, lang="en",
                            tz="Asia/Almaty", now=NOW)
    assert part.splitlines()[-1] == "1. A &amp; B — LS, 08:00"
