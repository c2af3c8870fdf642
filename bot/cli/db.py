"""`newsbot db upgrade`: bring the store's schema up to date."""

from __future__ import annotations

import argparse
import asyncio

from bot.config import get_settings
from storage.db import upgrade


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database maintenance")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply pending schema migrations")
    up.set_defaults(func=_upgrade)


def _upgrade(_args: argparse.Namespace) -> int:
    url = get_settings().database_url
    asyncio.run(upgrade(url))
    print("database schema is up to date")
    return 0
