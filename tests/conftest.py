"""Session fixtures: one real broker and one fresh Postgres database for the whole test run.

`FERRY_KAFKA_BOOTSTRAP` / `FERRY_DATABASE_URL` point the tests at existing infrastructure; without
them the session starts a broker (`FERRY_TEST_BROKER`: tansu, the default, or kafka) and uses (or
starts) a local Postgres.
`FERRY_TEST_INFRA=containers` uses testcontainers where a Docker engine exists.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.infra import Infra, start_infra  # noqa: E402

FAULTS = Path(__file__).parent / "faults"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fault suite is its own command (`./scripts/test.sh tests/faults`): it runs only when a
    path inside it is named."""
    if collection_path != FAULTS:
        return None
    named = [Path(a.split("::")[0]).resolve() for a in config.args]
    return not any(FAULTS == p or FAULTS in p.parents for p in named)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    handle = start_infra()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def service_env(infra: Infra) -> dict[str, str]:
    """Environment for a Ferry service (in-process settings or a subprocess)."""
    env = infra.env()
    os.environ.update(env)
    return env


@pytest.fixture
def unique() -> str:
    return secrets.token_hex(4)


@pytest.fixture
async def pg(infra: Infra) -> AsyncIterator[object]:
    import asyncpg

    conn = await asyncpg.connect(infra.dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def scratch_schema(infra: Infra, unique: str) -> AsyncIterator[object]:
    """`conn = await scratch_schema(migrations_dir)`: a schema of its own with those migrations
    applied, and a connection to it; both go at the end of the test."""
    import asyncpg
    from ferry_kit import migrate
    from ferry_kit.db import connect

    made: list[tuple[str, asyncpg.Connection]] = []

    async def make(migrations: Path) -> asyncpg.Connection:
        schema = f"scratch_{unique}_{len(made)}"
        await migrate.apply(infra.dsn, schema, migrations)
        conn = await connect(infra.dsn, schema)
        made.append((schema, conn))
        return conn

    yield make
    admin = await asyncpg.connect(infra.dsn)
    try:
        for schema, conn in made:
            await conn.close()
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await admin.close()
