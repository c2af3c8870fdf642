"""`newsbot fetch --once` and `newsbot sources` as a user runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from outlets import OutletServer, outlets_in_thread

from bot.cli import main
from bot.config import get_settings


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at a throw-away SQLite store, wide terminal output."""
    path = tmp_path / "newsbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def sources_file(path: Path, outlets: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f'[[source]]\nname = "{name}"\nurl = "{url}"\n\n'
                            for name, url in outlets), encoding="utf-8")
    return path


@pytest.fixture
def outlets() -> Iterator[OutletServer]:
    with outlets_in_thread() as server:
        yield server


def test_fetch_once_prints_a_summary_and_sources_shows_the_table(
        store: Path, outlets: OutletServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    listing = sources_file(tmp_path / "list.toml", [
        ("Tengri Test", outlets.serve("/ru.xml", "rss2_ru.xml")),
        ("Astana Test", outlets.serve("/en.xml", "atom_en.xml")),
        ("Broken Test", outlets.serve("/broken.xml", status=500)),
    ])
    assert main(["fetch", "--once", "--sources", str(listing)]) == 0
    first = capsys.readouterr().out
    assert "Outlets: 2 ok, 1 failed (0 unchanged). Items: 7 new, 0 duplicate." in first
    assert "Broken Test" in first and "HTTP 500 Internal Server Error" in first

    assert main(["sources"]) == 0
    table = capsys.readouterr().out
    for name in ("Tengri Test", "Astana Test", "Broken Test", outlets.url("/ru.xml")):
        assert name in table
    assert "1 (1 total)" in table and "HTTP 500 Internal Server Error" in table


def test_exit_code_is_1_when_every_outlet_fails(
        store: Path, outlets: OutletServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    listing = sources_file(tmp_path / "list.toml", [
        ("Page", outlets.serve("/", "page.html")),
        ("Gone", outlets.url("/missing.xml")),
    ])
    assert main(["fetch", "--once", "--sources", str(listing)]) == 1
    out = capsys.readouterr().out
    assert "Outlets: 0 ok, 2 failed" in out and "HTTP 404 Not Found" in out


def test_once_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fetch"])
    assert "--once" in capsys.readouterr().err
