"""Links in messages: only web addresses become links, everything is escaped."""

from __future__ import annotations

import pytest

from bot.html import link


def test_a_web_address_is_linked_and_escaped() -> None:
    assert link(" https://x.kz/a?b=1&c=2 ", "ШОС <b>") == (
        '<a href="https://x.kz/a?b=1&amp;c=2">ШОС &lt;b&gt;</a>')


@pytest.mark.parametrize("url", ["", "javascript:alert(1)", "/news/1", "https://", "ftp://x.kz/f"])
def test_anything_else_is_the_plain_title(url: str) -> None:
    # Telegram refuses href="" and odd schemes, which would fail the whole message
    assert link(url, "Саммит & итоги") == "Саммит &amp; итоги"
