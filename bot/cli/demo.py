"""`newsbot demo`: the whole pipeline offline, with no token and no network.

Serves the bundled sample feeds (`feeds/samples/`) on 127.0.0.1, runs one ingest pass into a
throw-away SQLite store, and prints what a subscriber would get: the digest, a /search and an
/org answer, rendered by the same code as the bot's messages.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.cli.demo_server import SAMPLES_DIR, serve_samples
from bot.cli.digest import digest_text
from bot.cli.fetch import fetch_once
from bot.cli.search import print_orgs, print_search
from bot.config import get_settings
from storage.db import Database

# The sample outlets: file name, outlet name, language.
SAMPLE_OUTLETS = (
    ("tengri-ru.xml", "Демо: Тенгри", "ru"),
    ("kursiv-ru.xml", "Демо: Курсив", "ru"),
    ("egemen-kk.xml", "Демо: Егемен", "kk"),
    ("astanatimes-en.xml", "Demo: The Astana Times", "en"),
)
SEARCHES = ("ветровая электростанция", "ШОС since:7d", 'энергетика -нефть lang:kk')


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="offline demo: sample feeds → classify → store → digest, /search, /org")
    parser.set_defaults(func=lambda _args: asyncio.run(run_demo(Console())))


def write_sources(path: Path, base_url: str) -> None:
    """An outlet list (the format of feeds/sources.toml) pointing at the local samples."""
    blocks = [
        f'[[source]]\nname = "{name}"\nurl = "{base_url}/{file}"\nlang = "{lang}"\n'
        for file, name, lang in SAMPLE_OUTLETS
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")


async def run_demo(console: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as folder, \
            serve_samples(SAMPLES_DIR) as base_url:
        sources = Path(folder) / "sources.toml"
        write_sources(sources, base_url)
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        settings = get_settings().model_copy(update={"database_url": url})

        console.rule("1. One ingest pass over the sample outlets (served on 127.0.0.1)")
        code = await fetch_once(settings, sources, console)
        if code:
            return code

        console.rule("2. The daily digest a subscriber gets (all topics, last 24 h)")
        console.print(await digest_text(url, chat_id=None, hours=24, lang="ru",
                                        now=datetime.now(UTC)), markup=False)

        db = Database(url)
        try:
            for query in SEARCHES:
                console.rule(f"3. /search {query}", characters="·")
                await print_search(db, query, console)
            console.rule("4. /org: the most mentioned organisations this week", characters="·")
            await print_orgs(db, "", console)
            console.rule("5. /org шанхайской организации", characters="·")
            await print_orgs(db, "шанхайской организации", console)
        finally:
            await db.dispose()
    console.rule()
    console.print("That is the pipeline. `make run` starts the real bot (it needs BOT_TOKEN).")
    return 0
