"""HTML for Telegram's HTML parse mode: every dynamic string goes through here."""

from __future__ import annotations

from html import escape


def esc(text: object) -> str:
    """Escape a string from a feed or a user for Telegram HTML (quotes too, for attributes)."""
    return escape(str(text), quote=True)


def link(url: str, title: str) -> str:
    return f'<a href="{esc(url)}">{esc(title)}</a>'
