"""`newsbot run`: the bot and its scheduler (long polling; a webhook when WEBHOOK_URL is set)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import get_settings

NO_TOKEN = """newsbot run: BOT_TOKEN is not set, so there is no bot to run.

  1. In Telegram, talk to @BotFather (https://t.me/BotFather): send /newbot and follow the
     steps; it answers with a token like 123456789:AA...
  2. Put it in the file .env next to the Makefile:  BOT_TOKEN=123456789:AA...
     (copy .env.example to .env first; add your user id to ADMIN_IDS to use admin commands)
  3. Run `make run` again.

To see the whole pipeline without Telegram (sample feeds, classification, a digest, search),
run `make demo`."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the Telegram bot and its scheduler")
    parser.set_defaults(func=_run)


def _run(_args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import run

    asyncio.run(run(settings))
    return 0
