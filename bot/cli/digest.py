"""`newsbot digest`: print the digest a chat would get (nothing is sent or marked as sent)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import get_settings
from bot.digest.build import MAX_LOOKBACK, compose_digest
from bot.digest.render import to_terminal
from bot.i18n import LANGUAGES, t
from storage.db import Database, upgrade
from storage.digests import digest_entries, topic_names
from storage.models import Chat


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digest", help="print the digest a chat would get (default: all topics, last 24 h)")
    parser.add_argument("--chat", type=int, metavar="ID",
                        help="a subscribed chat's id: its topics, language, zone and what it "
                             "has not been sent since its last digest")
    parser.add_argument("--hours", type=float, default=24.0,
                        help="how far back without --chat (default 24)")
    parser.add_argument("--lang", choices=LANGUAGES, help="language of the texts")
    parser.set_defaults(func=_digest)


def _digest(args: argparse.Namespace) -> int:
    settings = get_settings()
    asyncio.run(upgrade(settings.database_url))
    text = asyncio.run(digest_text(settings.database_url, chat_id=args.chat,
                                   hours=args.hours, lang=args.lang, now=datetime.now(UTC)))
    print(text)
    return 0


async def digest_text(database_url: str, *, chat_id: int | None, hours: float,
                      lang: str | None, now: datetime) -> str:
    """The plain-text digest: the same selection and layout as the chat's HTML message."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            chat = await session.get(Chat, chat_id) if chat_id is not None else None
            if chat_id is not None and chat is None:
                return f"No chat {chat_id} in the store (it subscribes with /start)."
            tz = chat.tz if chat else get_settings().tz
            lang = lang or (chat.lang if chat else "ru")
            since = now - timedelta(hours=hours)
            if chat is not None and chat.last_digest_at is not None:
                since = max(chat.last_digest_at, now - MAX_LOOKBACK)
            names = await topic_names(session) or _seed_names()
            entries = await digest_entries(session, chat_id=chat_id,
                                           topics=chat.topics if chat else [], since=since,
                                           until=now)
    finally:
        await db.dispose()
    header = t("digest.header", lang, since=_local(since, tz), until=_local(now, tz))
    parts, _shown = compose_digest(entries, header=header, names=names, lang=lang, tz=tz,
                                   since=since, now=now)
    if not parts:
        return to_terminal(t("digest.nothing_new", lang, since=_local(since, tz)))
    return "\n\n".join(to_terminal(part) for part in parts)


def _seed_names() -> dict[str, dict[str, str]]:
    """Topic names from the seeds when the store has none yet (the bot never ran on it)."""
    from topics import load_classifier

    classifier = load_classifier(get_settings().seeds_dir)
    return {topic: classifier.names(topic) for topic in classifier.topic_ids}


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%d.%m %H:%M")
