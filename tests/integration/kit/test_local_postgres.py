"""A throwaway Postgres cluster Ferry starts (no Postgres at 127.0.0.1:5432) leaves no folder
behind once it stops: each `ferry dev` run and test session used to leave one in /tmp."""

from __future__ import annotations

import asyncpg
from ferry_kit.infra import start_local_postgres


async def test_a_throwaway_cluster_answers_then_its_folder_goes_when_it_stops():
    local = start_local_postgres()
    folder = local.data_dir.parent
    try:
        conn = await asyncpg.connect(local.dsn)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
        assert (folder / "log").exists() and local.data_dir.is_dir()
    finally:
        local.stop()
    assert not folder.exists()
