"""The bot token never leaves the process: not on stderr, not in a log line, not in the
outbox's stored error texts (aiogram and aiohttp errors quote `/bot<token>/` URLs)."""

from __future__ import annotations

import io
import logging

import aiohttp
from telegram_stub import TOKEN, TelegramStub
from test_bot_delivery import _deliverer, _rows, _statuses

from bot import cli
from bot.cli import run as run_cli
from bot.logging_setup import RedactTokens

URL = f"http://127.0.0.1:1/bot{TOKEN}/getMe"


def test_a_failing_command_prints_its_error_without_the_token(monkeypatch, capsys) -> None:
    def failing(_args: object) -> int:
        raise aiohttp.ClientConnectionError(f"Cannot connect to {URL}")

    monkeypatch.setattr(run_cli, "_run", failing)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert cli.main(["run"]) == 1
    finally:
        root.handlers[:], root.level = handlers, level
    err = capsys.readouterr().err
    assert err.strip() == ("newsbot run: ClientConnectionError: "
                           "Cannot connect to http://127.0.0.1:1/bot<token>/getMe")


def test_log_lines_and_tracebacks_through_a_real_handler_hide_the_token() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactTokens())
    log = logging.getLogger("newsbot.test_redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("calling %s", URL)
        try:
            raise aiohttp.ClientConnectionError(URL)
        except aiohttp.ClientConnectionError:
            log.exception("request failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    text = out.getvalue()
    assert TOKEN not in text
    assert "WARNING calling http://127.0.0.1:1/bot<token>/getMe" in text
    assert "ClientConnectionError: http://127.0.0.1:1/bot<token>/getMe" in text


async def test_outbox_errors_are_stored_without_the_token(sqlite_db) -> None:
    async with TelegramStub() as stub:
        await _rows(sqlite_db, {1: ["a"], 2: ["b"]})
        stub.fail_next("sendMessage", 400, f"Bad Request: odd {URL}", chat_id=1)
        stub.fail_next("sendMessage", 502, f"Bad Gateway at {URL}", chat_id=2, times=100)
        deliverer = _deliverer(sqlite_db, stub, backoff=0.01, network_retries=1)
        await deliverer.deliver_pending()
        await deliverer.bot.session.close()
    rows = await _statuses(sqlite_db)
    assert rows[1].status == "failed" and rows[2].status == "pending"
    for row in rows.values():
        assert TOKEN not in row.error and "/bot<token>/getMe" in row.error
