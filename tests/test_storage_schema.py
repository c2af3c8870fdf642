"""The migrated schema round-trips the values the rest of the product relies on."""

from datetime import UTC, datetime, timedelta, timezone

from sqlmodel import select

from storage.db import Database
from storage.models import Chat, Source


async def test_timestamps_come_back_in_utc(db: Database) -> None:
    almaty = timezone(timedelta(hours=5))
    async with db.session() as session:
        session.add(Source(name="Kursiv", url="https://kz.kursiv.media/feed/",
                           next_poll_at=datetime(2026, 11, 25, 9, 0, tzinfo=almaty)))
        session.add(Chat(id=-1001234567890, type="channel", topics=["green", "sco"]))
        await session.commit()
    async with db.session() as session:
        source = (await session.exec(select(Source))).one()
        chat = (await session.exec(select(Chat))).one()
    assert source.next_poll_at == datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    assert source.next_poll_at.tzinfo is not None
    assert chat.id == -1001234567890  # channel ids need 64 bits
    assert chat.topics == ["green", "sco"]
