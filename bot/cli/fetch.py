"""`newsbot fetch --once` (one ingest pass with a progress bar) and `newsbot sources`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.config import Settings, get_settings
from feeds import (
    Fetcher,
    Poller,
    PollSummary,
    SourceOutcome,
    list_sources,
    load_sources_file,
    settle_startup_heap,
)
from storage.db import Database
from storage.models import Source
from storage.orgs import sync_gazetteer
from storage.sources import sync_specs
from topics import TopicService, load_gazetteer


def register(subparsers: argparse._SubParsersAction) -> None:
    fetch = subparsers.add_parser("fetch", help="poll the news outlets and store new items")
    fetch.add_argument("--once", action="store_true", required=True,
                       help="run one pass over every enabled outlet, then exit")
    fetch.add_argument("--sources", type=Path, metavar="FILE",
                       help="poll the outlets listed in FILE (TOML, like feeds/sources.toml) "
                            "instead of every enabled outlet in the store")
    fetch.set_defaults(func=_fetch)
    sources = subparsers.add_parser("sources", help="show the outlets and how their polls went")
    sources.set_defaults(func=_sources)


def _fetch(args: argparse.Namespace) -> int:
    return asyncio.run(fetch_once(get_settings(), args.sources, Console()))


def _sources(_args: argparse.Namespace) -> int:
    return asyncio.run(show_sources(get_settings(), Console()))


async def fetch_once(settings: Settings, sources_file: Path | None, console: Console) -> int:
    """One pass; exit code 0 unless every outlet failed."""
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        specs = load_sources_file(sources_file or settings.sources_file)
        await sync_specs(db, specs)
        async with db.session() as session:
            await sync_gazetteer(session, load_gazetteer(settings.seeds_dir).entries)
            await session.commit()
        topic_service = TopicService(db, settings.seeds_dir)
        await topic_service.load()  # seeds plus the admins' tuning stored in the database
        outlets = await list_sources(db, enabled_only=True)
        if sources_file is not None:
            wanted = {spec.url for spec in specs}
            outlets = [s for s in outlets if s.url in wanted]
        if not outlets:
            console.print("No enabled outlets to poll.")
            return 0
        settle_startup_heap()
        async with Fetcher() as fetcher:
            poller = Poller(db, fetcher, lambda: topic_service.classifier)
            summary = await _poll_with_progress(poller, outlets, console)
    finally:
        await db.dispose()
    _print_summary(summary, console)
    return 1 if summary.ok == 0 else 0


async def _poll_with_progress(poller: Poller, outlets: list[Source],
                              console: Console) -> PollSummary:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("new {task.fields[new]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("Polling outlets", total=len(outlets), new=0)

        def advance(outcome: SourceOutcome) -> None:
            done = progress.tasks[task]
            progress.update(task, advance=1, new=done.fields["new"] + outcome.new)

        return await poller.poll_all(outlets, progress=advance)


def _print_summary(summary: PollSummary, console: Console) -> None:
    failed = [o for o in summary.outcomes if not o.ok]
    if failed:
        table = Table(title="Failed outlets", title_justify="left")
        table.add_column("outlet")
        table.add_column("error")
        for outcome in sorted(failed, key=lambda o: o.name):
            table.add_row(escape(outcome.name), escape(outcome.error or ""))
        console.print(table)
    console.print(
        f"Outlets: {summary.ok} ok, {summary.failed} failed "
        f"({summary.not_modified} unchanged). "
        f"Items: {summary.new} new, {summary.duplicate} duplicate."
    )


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "—"


async def show_sources(settings: Settings, console: Console) -> int:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        sources = await list_sources(db)
    finally:
        await db.dispose()
    zone = ZoneInfo(settings.tz)
    table = Table(title=f"Outlets (times in {settings.tz})", title_justify="left")
    for column in ("name", "url", "enabled", "last success", "errors", "last error",
                   "next poll"):
        table.add_column(column, overflow="fold")
    for source in sources:
        table.add_row(
            escape(source.name), escape(source.url), "yes" if source.enabled else "no",
            _when(source.last_success_at, zone),
            f"{source.error_count} ({source.total_errors} total)" if source.total_errors
            else "0",
            escape(source.last_error or ""), _when(source.next_poll_at, zone),
        )
    console.print(table)
    if not sources:
        console.print("No outlets yet: `newsbot fetch --once` seeds them from the sources file.")
    return 0
