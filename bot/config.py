"""Configuration from the environment and `.env` (every variable is listed in `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All settings of the process; the bot token is a SecretStr so it never prints."""

    # The project's .env, then one in the working directory (which wins), if any.
    model_config = SettingsConfigDict(env_file=(PROJECT_ROOT / ".env", ".env"),
                                      env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    admin_ids: Annotated[set[int], NoDecode] = Field(default_factory=set)
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'data' / 'newsbot.db'}"
    telegram_api_base: str = "https://api.telegram.org"
    tz: str = "Asia/Almaty"
    sources_file: Path = PROJECT_ROOT / "feeds" / "sources.toml"
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    log_level: str = "INFO"
    webhook_url: str | None = None
    # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; empty = a new one per start.
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    send_rate_per_second: float = 25.0
    allow_private_feed_urls: bool = False
    poll_tick_seconds: int = 60

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        """Accept `123,456` or `123 456` as well as a JSON list."""
        if isinstance(value, int):
            return {value}
        if isinstance(value, str):
            parts = value.replace(",", " ").split()
            return {int(p) for p in parts}
        return value

    @field_validator("bot_token", "webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
