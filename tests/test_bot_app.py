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


async def test_webhook_mode_receives_updates(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with TelegramStub() as stub:
        settings = _settings(tmp_path, stub, webhook_url=f"http://127.0.0.1:{port}/tg",
                             webhook_host="127.0.0.1", webhook_port=port)
        app = asyncio.create_task(run(settings, handle_signals=False))
        try:
            while not stub.calls_of("setWebhook"):
                assert not app.done(), app.exception()
                await asyncio.sleep(0.05)
            update = {"update_id": 5, "message": {
                "message_id": 1, "date": 1764043200, "text": "/help",
                "chat": {"id": 32, "type": "private", "first_name": "B"},
                "from": {"id": 32, "is_bot": False, "first_name": "B", "language_code": "en"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            }}
            async with aiohttp.ClientSession() as http:
                async with http.post(f"http://127.0.0.1:{port}/tg", json=update) as response:
                    assert response.status == 200
            (reply,) = await stub.wait_sent(32, within=10)
        finally:
            await _stop(app)
    assert "/digest — send my digest now" in reply.plain
    assert stub.calls_of("setWebhook")[0].params["url"] == f"http://127.0.0.1:{port}/tg"
