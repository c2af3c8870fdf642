"""Parsing feed bytes into entries: charset repair, feedparser, "this is not a feed" reports.

Regional sites still serve windows-1251 and KOI8-R and sometimes declare the wrong one, so
the body is decoded here (declared charset vs detected, judged by how Cyrillic words look)
and feedparser is handed clean UTF-8.
"""

from __future__ import annotations

import calendar
import codecs
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import charset_normalizer
import feedparser
import feedparser.mixin
from selectolax.lexbor import LexborHTMLParser as HTMLParser

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/feed+json")
_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']",
                          re.IGNORECASE)
_XML_DECL_TEXT_RE = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)",
                               re.IGNORECASE)
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_CYR_WORD_RE = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]{3,}")
_GOOD_CYR_WORD_RE = re.compile(r"^[А-ЯЁӘҒҚҢӨҰҮҺІ]?[а-яёәғқңөұүһі]+$|^[А-ЯЁӘҒҚҢӨҰҮҺІ]+$")
_SINGLE_BYTE_CYRILLIC = ("windows-1251", "koi8-r", "koi8-u", "iso-8859-5", "cp866")


class FeedError(Exception):
    """The body is not a feed we can read; the message is fit for an admin."""

    def __init__(self, message: str, *, feed_url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.feed_url = feed_url  # a feed the HTML page links to, if any

    def __reduce__(self) -> tuple[object, ...]:  # survives a trip through a process pool
        return (_feed_error, (self.message, self.feed_url))


def _feed_error(message: str, feed_url: str | None) -> FeedError:
    return FeedError(message, feed_url=feed_url)


def _memoise_base_joins() -> None:
    """feedparser joins the current base URL (the feed's URL, or an `xml:base`) with the
    element's own base at the start of every element, mostly the feed's URL with itself: a
    fifth of its time on an ordinary feed. The join is a pure function of two strings, so it
    is memoised. Should a feedparser release drop the hook, parsing stays the same, only
    slower."""
    join = getattr(feedparser.mixin, "make_safe_absolute_uri", None)
    if callable(join) and not hasattr(join, "cache_info"):
        feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=1024)(join)


_memoise_base_joins()


@dataclass
class Entry:
    """One feed entry, still raw (HTML in title/summary); `feeds.normalize` cleans it."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None


@dataclass
class ParsedFeed:
    title: str
    entries: list[Entry]
    encoding: str
    bozo: str | None  # what feedparser complained about, when it still read the feed


def _charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip().strip("\"'")
    return None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _cyrillic_score(text: str) -> float:
    """Share of Cyrillic words that are cased like real words (mojibake mixes cases)."""
    words = _CYR_WORD_RE.findall(text)
    if not words:
        return 0.0
    return sum(1 for w in words if _GOOD_CYR_WORD_RE.match(w)) / len(words)


def decode_body(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a feed body to text; returns (text, codec name).

    Strict UTF-8 wins when it works (legacy Cyrillic bytes almost never form valid UTF-8).
    Otherwise the declared charsets (HTTP header, XML declaration) compete with the usual
    Cyrillic single-byte code pages and charset-normalizer's guess, and the decoding whose
    Cyrillic words look most like words wins; ties go to the declared charset.
    """
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(name, errors="replace").lstrip("\ufeff"), name
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    head = body[:2048]
    declared = [_codec(_charset_of(content_type))]
    for pattern in (_XML_DECL_RE, _META_CHARSET_RE):
        found = pattern.search(head)
        declared.append(_codec(found.group(1).decode("ascii")) if found else None)
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    candidates: list[str] = []
    for name in [*declared, *_SINGLE_BYTE_CYRILLIC, _codec(guess.encoding if guess else None)]:
        if name and name != "utf-8" and name not in candidates:
            candidates.append(name)
    best: tuple[float, int, str, str] | None = None
    for rank, name in enumerate(candidates):
        try:
            text = body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        key = (_cyrillic_score(text), -rank, name, text)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return body.decode("utf-8", errors="replace"), "utf-8"
    return best[3], best[2]


def _html_feed_link(body: bytes, base_url: str) -> str | None:
    tree = HTMLParser(body)
    for node in tree.css("link[rel]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").lower()
        href = node.attributes.get("href")
        if "alternate" in rel and kind in FEED_TYPES and href:
            return urljoin(base_url, href)
    return None


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower() and "xhtml+xml" not in content_type:
        return True
    head = body[:1024].lower()
    return b"<html" in head or b"<!doctype html" in head


def _timestamp(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _summary(entry: Any) -> str:
    """The longest text the entry carries: full content when present, else the summary."""
    texts = [c.get("value", "") for c in entry.get("content") or []]
    texts.append(entry.get("summary", "") or "")
    return max(texts, key=len)


def parse_feed(body: bytes, *, content_type: str | None = None, url: str = "") -> ParsedFeed:
    """Parse a feed; raise `FeedError` for an empty body, an HTML page or unreadable bytes.

    feedparser resolves links, and guids that may be links, against `url` (and `xml:base`):
    stored guid keys depend on that, so it stays so.
    """
    if not body.strip():
        raise FeedError("empty body: the server answered without content")
    text, encoding = decode_body(body, content_type)
    utf8 = _XML_DECL_TEXT_RE.sub(r"\g<1>utf-8", text, count=1).encode("utf-8")
    parsed = feedparser.parse(
        utf8,
        response_headers={"content-type": "application/xml; charset=utf-8",
                          "content-location": url},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries and not parsed.get("version"):
        if _looks_like_html(body, content_type):
            link = _html_feed_link(body, url)
            message = "not a feed: the server sent an HTML page"
            if link:
                message += f"; the page links a feed at {link}"
            raise FeedError(message, feed_url=link)
        reason = parsed.get("bozo_exception")
        raise FeedError(f"not a feed: {reason}" if reason else "not a feed")
    entries = [
        Entry(
            guid=(entry.get("id") or entry.get("guid") or None),
            link=entry.get("link") or None,
            title=entry.get("title", "") or "",
            summary=_summary(entry),
            published=_timestamp(entry),
        )
        for entry in parsed.entries
    ]
    bozo = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    return ParsedFeed(title=parsed.feed.get("title", "") or "", entries=entries,
                      encoding=encoding, bozo=bozo)
