"""`newsbot search QUERY...` and `newsbot orgs [NAME...]`: the /search and /org answers in the
terminal (`print_search` / `print_orgs` are reused by `newsbot demo`)."""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from html import unescape
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from bot.config import get_settings
from bot.handlers.common import label, topic_catalog
from bot.handlers.orgs import TOP_COUNT, TOP_DAYS, WEEKS, sparkline
from bot.handlers.search import PER_PAGE
from bot.i18n import t
from storage.db import Database
from storage.orgs import OrgMatch, org_items, resolve, top_orgs, weekly_counts
from storage.search import Hit, reindex, search

_TAG = re.compile(r"<[^>]+>")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="search the stored news like /search")
    parser.add_argument("query", nargs="*", help='words, "phrases", -word, topic:, source:, '
                        "lang:, since: (see /search in the bot)")
    parser.add_argument("--page", type=int, default=1)
    parser.add_argument("--reindex", action="store_true",
                        help="rebuild the search index of every stored item, then exit")
    parser.set_defaults(func=_search)
    orgs = subparsers.add_parser("orgs", help="organisations in the news, like /org")
    orgs.add_argument("name", nargs="*", help="an organisation (any language, any form); "
                      f"none: the most mentioned of the last {TOP_DAYS} days")
    orgs.add_argument("--page", type=int, default=1)
    orgs.set_defaults(func=_orgs)


def _search(args: argparse.Namespace) -> int:
    if args.reindex:
        return asyncio.run(_with_db(_reindex))
    return asyncio.run(_with_db(lambda db, console: print_search(
        db, " ".join(args.query), console, page=args.page)))


async def _reindex(db: Database, console: Console) -> int:
    console.print(f"indexed {await reindex(db):,} items")
    return 0


def _orgs(args: argparse.Namespace) -> int:
    return asyncio.run(_with_db(lambda db, console: print_orgs(
        db, " ".join(args.name), console, page=args.page)))


async def _with_db(run: Callable[[Database, Console], Awaitable[int]]) -> int:
    settings = get_settings()
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        return await run(db, Console())
    finally:
        await db.dispose()


def _print_hits(console: Console, hits: list[Hit], first: int, lang: str, tz: str,
                catalog: Mapping[str, Mapping[str, str]]) -> None:
    zone = ZoneInfo(tz)
    for number, hit in enumerate(hits, start=first):
        badges = " ".join(f"#{label(dict(catalog.get(x, {})), lang, x)}" for x in hit.topics)
        console.print(f"[bold]{number}. {escape(hit.title)}[/bold]")
        console.print(f"   {escape(hit.source)} · {hit.published_at.astimezone(zone):%d.%m.%Y}"
                      f"{' · ' + escape(badges) if badges else ''}")
        console.print(f"   [link={hit.url}]{escape(hit.url)}[/link]", style="dim")


def _plain(text: str) -> str:
    """A bot text without its HTML tags, for the terminal."""
    return unescape(_TAG.sub("", text))


async def print_search(db: Database, query: str, console: Console, *, page: int = 1,
                       lang: str = "ru", tz: str | None = None,
                       now: datetime | None = None) -> int:
    """Print one page of results as /search shows it; returns the exit code."""
    tz = tz or get_settings().tz
    result = await search(db, query, page=page, per_page=PER_PAGE, now=now or datetime.now(UTC))
    console.print(f"🔎 [bold]{escape(query)}[/bold]")
    if result.query_hint:
        console.print(_plain(t(f"search.hint.{result.query_hint}", lang)), style="yellow")
    if not result.hits:
        console.print(_plain(t("search.nothing", lang)))
        return 0
    pages = result.total_pages(PER_PAGE)
    console.print(t("search.found", lang, total=result.total_text, page=page, pages=pages))
    _print_hits(console, result.hits, (page - 1) * PER_PAGE + 1, lang, tz,
                await topic_catalog(db, None))
    return 0


async def print_orgs(db: Database, name: str, console: Console, *, page: int = 1,
                     lang: str = "ru", tz: str | None = None,
                     now: datetime | None = None) -> int:
    """The week's top organisations, or one organisation's card, as /org shows them."""
    now = now or datetime.now(UTC)
    if not name.strip():
        top = await top_orgs(db, days=TOP_DAYS, now=now, limit=TOP_COUNT)
        if not top:
            console.print(_plain(t("org.top_empty", lang, days=TOP_DAYS)))
            return 0
        console.print(t("org.top", lang, days=TOP_DAYS))
        for row in top:
            console.print(f"  {row.count:>4}  {escape(row.org.label(lang))}"
                          f"  [dim]{row.org.key}[/dim]")
        return 0
    async with db.session() as session:
        matches = await resolve(session, name)
    if not matches:
        console.print(_plain(t("org.not_found", lang, name=name)))
        return 1
    if len(matches) > 1:
        console.print(t("org.choose", lang, name=name))
        for match in matches:
            console.print(f"  {escape(match.label(lang))}  [dim]newsbot orgs {match.key}[/dim]")
        return 0
    await _print_card(db, matches[0], console, page=page, lang=lang, tz=tz or get_settings().tz,
                      now=now)
    return 0


async def _print_card(db: Database, org: OrgMatch, console: Console, *, page: int, lang: str,
                      tz: str, now: datetime) -> None:
    items = await org_items(db, org.org_id, page=page, per_page=PER_PAGE)
    counts = await weekly_counts(db, org.org_id, weeks=WEEKS, now=now)
    console.print(f"🏢 [bold]{escape(org.label(lang))}[/bold]")
    console.print(_plain(t("org.weekly", lang, weeks=WEEKS, bars=sparkline(counts),
                           counts=" ".join(map(str, counts)), total=items.total)))
    if not items.hits:
        console.print(t("org.no_items", lang))
        return
    console.print(t("org.latest", lang, page=page, pages=items.total_pages(PER_PAGE)))
    _print_hits(console, items.hits, (page - 1) * PER_PAGE + 1, lang, tz,
                await topic_catalog(db, None))
