"""The outlet list: the TOML file that seeds the store, and outlets added by admins."""

from __future__ import annotations

import asyncio
import tomllib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from feeds.fetch import Fetcher, FetchError, check_public_url
from feeds.normalize import clean_text, detect_lang
from feeds.parse import FeedError, parse_feed
from storage.db import Database
from storage.models import Source
from storage.sources import (
    SourceSpec,
    SyncResult,
    find_source_by_url,
    insert_source,
    sync_specs,
)

LANGS = ("ru", "kk", "en")
CONFIDENCE = ("high", "medium", "low")
DEFAULT_INTERVAL = 900


class SourceError(Exception):
    """An outlet that cannot be used; the message is fit for an admin (no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_sources_file(path: Path) -> list[SourceSpec]:
    """Read `[[source]]` tables; raise `SourceError` naming the entry that is wrong."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SourceError(f"cannot read the sources file {path}: {error}") from error
    specs: list[SourceSpec] = []
    for number, entry in enumerate(data.get("source", []), start=1):
        where = f"{path}: source #{number}"
        url, name = entry.get("url"), entry.get("name")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise SourceError(f"{where}: `url` must be an http(s) URL")
        if not isinstance(name, str) or not name.strip():
            raise SourceError(f"{where}: `name` is missing")
        lang = entry.get("lang", "ru")
        if lang not in LANGS:
            raise SourceError(f"{where}: `lang` must be one of {', '.join(LANGS)}")
        confidence = entry.get("confidence", "medium")
        if confidence not in CONFIDENCE:
            raise SourceError(f"{where}: `confidence` must be one of {', '.join(CONFIDENCE)}")
        interval = entry.get("interval", DEFAULT_INTERVAL)
        if not isinstance(interval, int) or interval < 60:
            raise SourceError(f"{where}: `interval` must be a number of seconds >= 60")
        specs.append(SourceSpec(name=name.strip(), url=url, lang=lang, poll_interval=interval,
                                enabled=bool(entry.get("enabled", True)),
                                confidence=confidence))
    return specs


async def sync_sources(db: Database, path: Path) -> SyncResult:
    """Seed the store from a sources file (new outlets added, admins' changes kept)."""
    return await sync_specs(db, load_sources_file(path))


async def add_source(db: Database, fetcher: Fetcher, url: str, *, name: str | None = None,
                     lang: str | None = None, added_by: int | None = None,
                     allow_private: bool = False) -> Source:
    """Add an outlet an admin typed in, after fetching it once: it must parse as a feed.

    Private and loopback addresses are refused unless `allow_private` (the poller itself
    fetches whatever is in the store). Raises `SourceError` with a readable reason.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError("a feed address must start with http:// or https://")
    if lang is not None and lang not in LANGS:
        raise SourceError(f"language must be one of {', '.join(LANGS)}")
    if await find_source_by_url(db, url):
        raise SourceError("this feed is already in the list")
    try:
        if not allow_private:  # refused before any request; fetch then checks each redirect
            await check_public_url(url)
        result = await fetcher.fetch(url, allow_private=allow_private)
        # a body of up to 15 MiB: parsed off the event loop, like the poller does
        feed = await asyncio.to_thread(parse_feed, result.body,
                                       content_type=result.content_type, url=result.url)
    except (FetchError, FeedError) as error:
        raise SourceError(error.message) from error
    if lang is None:
        votes = Counter(detect_lang(clean_text(e.title), "ru") for e in feed.entries[:30])
        lang = votes.most_common(1)[0][0] if votes else "ru"
    title = clean_text(feed.title) or (urlsplit(url).hostname or url)
    source = await insert_source(db, Source(name=(name or title)[:100], url=url, lang=lang,
                                            confidence="medium", added_by=added_by))
    if source is None:
        raise SourceError("this feed is already in the list")
    return source
