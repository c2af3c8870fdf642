"""Logging that never shows the bot token, whatever library formats the line."""

from __future__ import annotations

import logging
import re

# A Telegram bot token: digits, a colon, 30+ URL-safe characters (also inside /bot<token>/ URLs).
TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


def redact(text: str) -> str:
    """`text` with anything shaped like a bot token replaced by `<token>`: for every error
    text that leaves the process (logs, stderr, the outbox's error column)."""
    return TOKEN_RE.sub("<token>", text)


class RedactTokens(logging.Filter):
    """Replace anything shaped like a bot token in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries: their INFO lines (each request, each migration step) drown ours.
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic", "pymorphy3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
