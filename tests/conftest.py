"""Shared fixtures: a migrated store on SQLite and on the local PostgreSQL.

`db` is parametrised over both backends. Without a reachable PostgreSQL the PostgreSQL
half is skipped with a reason, unless NEWSBOT_REQUIRE_POSTGRES=1 (set by `.ci/run`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

from storage.db import Database, upgrade

PG_DSN = os.environ.get("NEWSBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# One template per test run, so two runs at once (two checkouts, helpers) do not collide.
PG_TEMPLATE = f"newsbot_test_template_{os.getpid()}"


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to the end in its own thread (a session fixture may be first
    requested from inside a running event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _sa_url(dsn: str, database: str) -> str:
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _pg_execute(*statements: str) -> None:
    connection = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (CREATE DATABASE ... TEMPLATE)."""
    try:
        _run(_pg_execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)",
                                f"CREATE DATABASE {PG_TEMPLATE}"))
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("NEWSBOT_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL at {PG_DSN} is not reachable: {error}")
    _run(upgrade(_sa_url(PG_DSN, PG_TEMPLATE)))
    yield PG_TEMPLATE
    _run(_pg_execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A migrated SQLite file's bytes; each test starts from a copy (migrating once is faster)."""
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def build() -> None:
        await upgrade(url)
        database = Database(url)
        async with database.engine.begin() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await database.dispose()

    _run(build())
    return path.read_bytes()


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Database]:
    """A fresh, migrated store for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "newsbot.db"
        path.write_bytes(request.getfixturevalue("sqlite_template"))
        database = Database(f"sqlite+aiosqlite:///{path}")
        yield database
        await database.dispose()
        return
    template = request.getfixturevalue("pg_template")
    name = f"newsbot_test_{uuid.uuid4().hex[:12]}"
    await _pg_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    database = Database(_sa_url(PG_DSN, name))
    yield database
    await database.dispose()
    await _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def sqlite_db(tmp_path, sqlite_template: bytes) -> AsyncIterator[Database]:
    """A fresh SQLite store, for tests about something other than storage."""
    path = tmp_path / "newsbot.db"
    path.write_bytes(sqlite_template)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()
