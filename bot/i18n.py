"""Bot texts in Russian (default), Kazakh and English.

Texts live in `bot/locales/<lang>/*.toml` (one file per feature, merged); a key missing in
Kazakh or English falls back to Russian. Values are `str.format` templates: arguments that
come from feeds or users must be HTML-escaped by the caller (see `bot.html`).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("ru", "kk", "en")
DEFAULT_LANGUAGE = "ru"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


@lru_cache(maxsize=len(LANGUAGES))
def _catalog(lang: str) -> dict[str, str]:
    catalog: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.toml")):
        with path.open("rb") as handle:
            catalog.update(tomllib.load(handle))
    return catalog


def pick_language(code: str | None) -> str:
    """The bot language for a Telegram `language_code` such as `kk`, `en-US` or `ru`."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **kwargs: object) -> str:
    """The text `key` in `lang`, formatted with `kwargs`."""
    template = _catalog(lang).get(key) or _catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise KeyError(f"no text {key!r}")
    return template.format(**kwargs) if kwargs else template
