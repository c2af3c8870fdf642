"""HTML for Telegram's HTML parse mode: every dynamic string goes through here."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit


def esc(text: object) -> str:
    """Escape a string from a feed or a user for Telegram HTML (quotes too, for attributes)."""
    return escape(str(text), quote=True)


def link(url: str, title: str) -> str:
    """The title linked to `url` if it is a web address, else plain: Telegram refuses a
    message with `href=""` or an odd scheme, which would fail the whole message."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return f'<a href="{esc(url)}">{esc(title)}</a>'
    return esc(title)
