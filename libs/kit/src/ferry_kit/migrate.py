"""Forward-only SQL migrations per service schema, applied under an advisory lock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

KIT_SQL = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str


def load(migrations_dir: Path) -> list[Migration]:
    """The kit's outbox/inbox migrations first, then the service's own, in file-name order."""
    files = sorted(KIT_SQL.glob("*.sql")) + sorted(migrations_dir.glob("*.sql"))
    return [Migration(version=f.stem, sql=f.read_text()) for f in files]


async def apply(dsn: str, schema: str, migrations_dir: Path) -> list[str]:
    """Apply what is not applied yet; return the versions applied now."""
    migrations = load(migrations_dir)
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        # Two processes starting at once must not both apply the same migration.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"ferry.migrate.{schema}")
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
                "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                r["version"]
                for r in await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations')
            }
            for m in migrations:
                if m.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                    await conn.execute(m.sql)
                    await conn.execute(
                        f'INSERT INTO "{schema}".schema_migrations (version) VALUES ($1)', m.version
                    )
                applied_now.append(m.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"ferry.migrate.{schema}")
    finally:
        await conn.close()
    return applied_now
