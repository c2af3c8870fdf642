"""The `newsbot` command. Each sub-command lives in its own module with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# One module per sub-command family; each adds its parsers and sets `func(args) -> int`.
COMMAND_MODULES = (
    "bot.cli.run",  # run
    "bot.cli.demo",  # demo
    "bot.cli.fetch",  # fetch, sources
    "bot.cli.topics",  # classify, learn
    "bot.cli.digest",  # digest
    "bot.cli.search",  # search, orgs
    "bot.cli.db",  # db upgrade
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Kazakh green-development and SCO news monitor (Telegram bot).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    from bot.config import get_settings
    from bot.logging_setup import redact, setup_logging

    setup_logging(get_settings().log_level)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the last line of defence: a message, not a traceback
        logging.getLogger("newsbot").debug("command failed", exc_info=True)
        # Printed, so the log filter does not see it: network errors quote /bot<token>/ URLs.
        print(redact(f"newsbot {args.command}: {type(error).__name__}: {error}"),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
