"""The Telegram stand-in refuses HTML as Telegram does, so escaping bugs fail the tests."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest
from telegram_stub import TOKEN, TelegramStub

from bot.app import create_bot
from bot.config import Settings

ACCEPTED = [
    "a &lt; b &amp; c &quot;q&quot; &#39; &#x41;",
    '<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>n</ins> <s>s</s>'
    ' <strike>k</strike> <del>d</del> <tg-spoiler>t</tg-spoiler> <code>c</code>',
    '<span class="tg-spoiler">x</span> <blockquote expandable>q</blockquote>',
    '<a href="https://kursiv.kz/a?b=1&amp;c=2">link</a>',
    '<pre><code class="language-python">x = 1</code></pre>',
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
]
REFUSED = ["a < b", "Tom & Jerry", "x &nbsp; y", "<br>", "<p>x</p>", "<b>open",
           "<b><i>x</b></i>", "stray </i>", "<span>x</span>", '<a href="">x</a>',
           "Solar <plant>", "<!-- c -->x"]


async def _send_all(texts: list[str]) -> list[str | None]:
    """For each text: None if sent, else the error the bot got."""
    results: list[str | None] = []
    async with TelegramStub() as stub:
        bot = create_bot(Settings(_env_file=None, bot_token=TOKEN, telegram_api_base=stub.url))
        try:
            for text in texts:
                try:
                    await bot.send_message(1, text)
                    results.append(None)
                except TelegramBadRequest as error:
                    results.append(error.message)
        finally:
            await bot.session.close()
    return results


async def test_html_telegram_accepts_is_sent() -> None:
    assert await _send_all(ACCEPTED) == [None] * len(ACCEPTED)


@pytest.mark.parametrize("text", REFUSED)
async def test_html_telegram_refuses_gets_400_cant_parse_entities(text: str) -> None:
    (error,) = await _send_all([text])
    assert error is not None and error.startswith("Bad Request: can't parse entities")
