"""The whole app (`bot.app.run`) against the Telegram stand-in: start-up, long polling, webhook."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
from pydantic import SecretStr
from telegram_stub import TOKEN, TelegramStub

from bot.app import run
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _settings(tmp_path: Path, stub: TelegramStub, **extra) -> Settings:
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    return Settings(
        _env_file=None, bot_token=SecretStr(TOKEN), telegram_api_base=stub.url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", sources_file=sources,
        seeds_dir=ROOT / "seeds", **extra,
    )


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_run_starts_up_and_answers_by_long_polling(tmp_path) -> None:
    async with TelegramStub() as stub:
        app = asyncio.create_task(run(_settings(tmp_path, stub), handle_signals=False))
        try:
            stub.enqueue({"message": {
                "message_id": 1, "date": 1764043200, "text": "/start",
                "chat": {"id": 31, "type": "private", "first_name": "A"},
                "from": {"id": 31, "is_bot": False, "first_name": "A", "language_code": "kk"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }})
            (welcome,) = await stub.wait_sent(31, within=30)
        finally:
            await _stop(app)
    assert "Сәлеметсіз бе" in welcome.plain
    assert {"", "ru", "kk", "en"} <= set(stub.commands)
    assert stub.calls_of("deleteWebhook")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _help_update(update_id: int, chat_id: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1764043200, "text": "/help",
        "chat": {"id": chat_id, "type": "private", "first_name": "B"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "B", "language_code": "en"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }}


async def _start_webhook(tmp_path: Path, stub: TelegramStub, port: int,
                         **extra) -> asyncio.Task:
    settings = _settings(tmp_path, stub, webhook_url=f"http://127.0.0.1:{port}/tg",
                         webhook_host="127.0.0.1", webhook_port=port, **extra)
    app = asyncio.create_task(run(settings, handle_signals=False))
    while not stub.calls_of("setWebhook"):
        assert not app.done(), app.exception()
        await asyncio.sleep(0.05)
    return app


async def test_webhook_mode_receives_updates_signed_with_the_secret(tmp_path) -> None:
    port = _free_port()
    async with TelegramStub() as stub:
        app = await _start_webhook(tmp_path, stub, port)
        try:
            (call,) = stub.calls_of("setWebhook")
            secret = call.params["secret_token"]
            async with aiohttp.ClientSession() as http:
                async with http.post(f"http://127.0.0.1:{port}/tg", json=_help_update(5, 32),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": secret}
                                     ) as response:
                    assert response.status == 200
            (reply,) = await stub.wait_sent(32, within=10)
        finally:
            await _stop(app)
    assert "/digest — send my digest now" in reply.plain
    assert call.params["url"] == f"http://127.0.0.1:{port}/tg"
    assert len(secret) >= 32  # generated per start when WEBHOOK_SECRET is empty


async def test_webhook_refuses_updates_without_the_configured_secret(tmp_path) -> None:
    port = _free_port()
    async with TelegramStub() as stub:
        app = await _start_webhook(tmp_path, stub, port, webhook_secret=SecretStr("s3cret_x"))
        try:
            url = f"http://127.0.0.1:{port}/tg"
            async with aiohttp.ClientSession() as http:
                async with http.post(url, json=_help_update(6, 33)) as response:
                    assert response.status == 401
                async with http.post(url, json=_help_update(7, 34),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
                                     ) as response:
                    assert response.status == 401
                async with http.post(url, json=_help_update(8, 35),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret_x"}
                                     ) as response:
                    assert response.status == 200
            await stub.wait_sent(35, within=10)
        finally:
            await _stop(app)
    assert stub.calls_of("setWebhook")[0].params["secret_token"] == "s3cret_x"
    assert not stub.sent_to(33) and not stub.sent_to(34)
