"""Digest text: grouped by topic, best first, numbered, split under Telegram's 4,096 characters.

The same function renders the HTML a chat receives and the plain text `newsbot digest`
prints. Every string from a feed goes through `esc` (HTML) before it is placed in a message.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.html import esc, link
from bot.i18n import t
from storage.digests import DigestEntry

MAX_MESSAGE = 4096
BLOCK_SEP = "\n\n"  # between topic sections and between the header and the first section
LINE_SEP = "\n"  # between items inside a section
_TAG = re.compile(r"<[^>]+>")


def topic_title(topic_id: str, names: Mapping[str, Mapping[str, str]], lang: str) -> str:
    labels = names.get(topic_id) or {}
    return labels.get(lang) or labels.get("ru") or topic_id


def order_entries(
    entries: Sequence[DigestEntry], topic_order: Sequence[str]
) -> list[tuple[str, list[DigestEntry]]]:
    """Sections in topic order, best item first inside each; the numbering follows this."""
    rank = {topic: i for i, topic in enumerate(topic_order)}
    sections: dict[str, list[DigestEntry]] = {}
    for entry in entries:
        sections.setdefault(entry.topic_id, []).append(entry)
    ordered = sorted(sections.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    return [(topic, sorted(items, key=lambda e: (-e.score, e.item_id))) for topic, items in ordered]


def local_time(moment: datetime, tz: str, now: datetime) -> str:
    """14:05 today, 24.11 14:05 otherwise, in the chat's zone."""
    zone = ZoneInfo(tz)
    local, today = moment.astimezone(zone), now.astimezone(zone)
    same_day = local.date() == today.date()
    return local.strftime("%H:%M") if same_day else local.strftime("%d.%m %H:%M")


def render_digest(
    sections: Sequence[tuple[str, Sequence[DigestEntry]]],
    *,
    header: str,
    names: Mapping[str, Mapping[str, str]],
    lang: str,
    tz: str,
    now: datetime,
    limit: int = MAX_MESSAGE,
    footers: Mapping[str, str] | None = None,
) -> list[str]:
    """HTML messages (each at most `limit` characters), split only between items.
    `footers`: an HTML line ending a topic's section (topic id -> line)."""
    blocks: list[list[str]] = []
    number = 0
    for topic, items in sections:
        lines = [f"<b>{esc(topic_title(topic, names, lang))}</b>"]
        for entry in items:
            number += 1
            lines.append(_item_line(number, entry, lang, tz, now))
        if footers and topic in footers:
            lines.append(footers[topic])
        blocks.append(lines)
    return _pack(header, blocks, limit)


def _item_line(number: int, entry: DigestEntry, lang: str, tz: str, now: datetime) -> str:
    title = link(entry.url, entry.title)
    line = f"{number}. {title} — {esc(entry.outlet)}, {local_time(entry.published_at, tz, now)}"
    if entry.also:
        line += "\n    " + t("digest.also", lang, outlets=esc(", ".join(entry.also)))
    return line


def _pack(header: str, blocks: Sequence[Sequence[str]], limit: int) -> list[str]:
    """Fill messages line by line; a section title never ends a message."""
    parts: list[str] = []
    current = header
    for lines in blocks:
        title, items = lines[0], lines[1:]
        for i, line in enumerate(items):
            chunk = f"{title}{LINE_SEP}{line}" if i == 0 else line
            sep = BLOCK_SEP if i == 0 else LINE_SEP
            if current and len(current) + len(sep) + len(chunk) > limit:
                parts.append(current)
                current, sep = "", ""
                if i > 0:  # the section continues in the next message: repeat its title
                    chunk = f"{title}{LINE_SEP}{line}"
            current = f"{current}{sep}{chunk}" if current else chunk
    if current and blocks:
        parts.append(current)
    return [_truncate(part, limit) for part in parts]


def _truncate(part: str, limit: int) -> str:
    """Only a single absurdly long item could pass the limit; cut its visible text."""
    if len(part) <= limit:
        return part
    plain, keep = to_plain(part), limit - 1
    while len(esc(plain[:keep])) >= limit:
        keep -= 64
    return esc(plain[:keep]) + "…"


def split_part(text: str) -> list[str]:
    """Two halves of a message, cut at the line nearest the middle (Telegram said too long)."""
    lines = text.split(LINE_SEP)
    if len(lines) < 2:
        return [text]
    total, running, cut = len(text), 0, 1
    for i, line in enumerate(lines[:-1], start=1):
        running += len(line) + 1
        cut = i
        if running >= total / 2:
            break
    first, second = LINE_SEP.join(lines[:cut]).strip(), LINE_SEP.join(lines[cut:]).strip()
    return [p for p in (first, second) if p]


def to_plain(part: str) -> str:
    """What a reader sees of an HTML message (for the terminal and for length checks)."""
    return html.unescape(_TAG.sub("", part))


def to_terminal(part: str) -> str:
    """Plain text for a terminal: links become `title <url>`."""
    linked = re.sub(r'<a href="([^"]*)">(.*?)</a>', r"\2 &lt;\1&gt;", part)
    return html.unescape(_TAG.sub("", linked))
