"""The `ferry` command: operate Ferry (projects, migrations, services) and run it locally."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from .connectors import app as connectors_app

# Pretty exceptions never show local variables: they may hold tokens and secrets.
app = typer.Typer(help="Ferry: an open-source managed sync platform.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
project_app = typer.Typer(help="Manage projects (tenants).", no_args_is_help=True,
                          pretty_exceptions_show_locals=False)
app.add_typer(project_app, name="project")
app.add_typer(connectors_app, name="connectors")
dlq_app = typer.Typer(
    help="Dead letters: messages a consumer could not handle, oversized outbox rows.",
    no_args_is_help=True, pretty_exceptions_show_locals=False,
)
app.add_typer(dlq_app, name="dlq")

BOOTSTRAP = typer.Option("127.0.0.1:9092", "--bootstrap", envvar="FERRY_KAFKA_BOOTSTRAP",
                         help="Kafka bootstrap servers.")
DLQ_KEY = typer.Option(None, "--key", help="Only the dead letters of this key (a connection id).")
DLQ_TOPIC = typer.Argument(..., help="A topic (or its .dlq topic), e.g. records.fetched.")
DLQ_AT = typer.Option([], "--at", help="Only PARTITION:OFFSET of the .dlq topic (repeatable).")

SERVICES = ("gateway", "connections", "scheduler", "executor", "records", "webhooks")


def _target():  # noqa: ANN202 - a Target, imported lazily to keep `ferry --help` fast
    from .target import MissingSetting, resolve

    try:
        return resolve()
    except MissingSetting as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    typer.echo(f"ferry: {message}", err=True)
    raise typer.Exit(2)


def _run(fn: Callable[..., Any], *args: Any) -> Any:
    """An operator call; a refusal or a missing setting is one line, never a traceback."""
    from .target import MissingSetting

    try:
        return fn(*args)
    except MissingSetting as exc:
        _fail(str(exc))


@project_app.command("create")
def project_create(
    name: str = typer.Option(..., "--name", help="The project's display name."),
) -> None:
    """Create a project; prints {"project_id", "secret_key", "signing_key"}."""
    from .operator import create_project

    typer.echo(json.dumps(_run(create_project, _target(), name)))


@project_app.command("list")
def project_list() -> None:
    """Every project: one JSON object per line (project_id, name, created_at)."""
    from .operator import list_projects

    for project in _run(list_projects, _target()):
        typer.echo(json.dumps(project))


@project_app.command("rotate-key")
def project_rotate_key(
    project_id: str = typer.Argument(..., help="The project (proj_...)."),
) -> None:
    """A new secret key for the project; its earlier keys stop working at once."""
    from .operator import rotate_key

    typer.echo(json.dumps(_run(rotate_key, _target(), project_id)))


@app.command()
def status() -> None:
    """Each service's health, consumer lag and outbox backlog."""
    from rich.console import Console
    from rich.table import Table

    from .operator import status as read_status

    table = Table("service", "health", "consumer lag", "outbox backlog")
    rows = _run(read_status, _target())
    for row in rows:
        table.add_row(row["service"], row["health"], *("" if row[k] is None else str(row[k])
                                                       for k in ("consumer_lag", "outbox_backlog")))
    Console().print(table)
    if any(r["health"] != "ok" for r in rows):
        raise typer.Exit(1)


@app.command()
def sync(
    connection_id: str = typer.Argument(..., help="The connection (con_...)."),
    full: bool = typer.Option(False, "--full", help="A full sync instead of an incremental one."),
    watch: bool = typer.Option(False, "--watch", help="Show a progress bar per model until done."),
) -> None:
    """Start a sync of every enabled model, with the project's key (FERRY_SECRET_KEY, else
    .ferry/dev.json)."""
    from . import syncwatch
    from .target import project_key

    target = _target()
    key = _run(project_key, target)
    jobs = _run(syncwatch.start, target, key, connection_id, full)
    if not watch:
        typer.echo(json.dumps([{k: j[k] for k in ("id", "data_model", "status")} for j in jobs]))
        return
    ended = _run(syncwatch.watch, target, key, jobs)
    for job in ended:
        typer.echo(f"{job['data_model']}: {job['status']} {json.dumps(job['counts'])}"
                   + (f" error: {job['error']}" if job.get("error") else ""))
    if any(j["status"] != "complete" for j in ended):
        raise typer.Exit(1)


@dlq_app.command("list")
def dlq_list(topic: str = DLQ_TOPIC, key: str | None = DLQ_KEY, bootstrap: str = BOOTSTRAP) -> None:
    """Print the dead letters of TOPIC, one JSON object a line, oldest first per partition."""
    from .dlq import read

    for letter in asyncio.run(read(bootstrap, topic, key)):
        typer.echo(json.dumps(letter.summary()))


@dlq_app.command("replay")
def dlq_replay(topic: str = DLQ_TOPIC, key: str | None = DLQ_KEY, at: list[str] = DLQ_AT,
               bootstrap: str = BOOTSTRAP) -> None:
    """Re-publish dead letters' original payloads to their original topics (consumers dedupe)."""
    from .dlq import read, replay

    wanted = {tuple(int(n) for n in a.split(":", 1)) for a in at}
    letters = [d for d in asyncio.run(read(bootstrap, topic, key))
               if not wanted or (d.partition, d.offset) in wanted]
    replayed, skipped = asyncio.run(replay(bootstrap, letters))
    typer.echo(json.dumps({"replayed": replayed, "skipped": skipped}))


@app.command()
def migrate() -> None:
    """Apply every service's migrations to FERRY_DATABASE_URL."""
    from .services import migrate_all

    for service, versions in asyncio.run(migrate_all()).items():
        typer.echo(f"{service}: {', '.join(versions) if versions else 'up to date'}")


@app.command()
def run(service: str = typer.Argument(..., help=f"One of: {', '.join(SERVICES)}.")) -> None:
    """Run one service (as one container of docker-compose.yml does)."""
    if service not in SERVICES:
        raise typer.BadParameter(
            f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    from pydantic import ValidationError

    from .services import run_service
    from .target import settings_problem

    try:
        run_service(service)
    except ValidationError as exc:
        _fail(settings_problem(exc))


@app.command()
def sandbox(
    port: int = typer.Option(8090, help="Port to listen on."), host: str = "127.0.0.1"
) -> None:
    """Run the sandbox provider (FERRY_SANDBOX_ADMIN_TOKEN required)."""
    from .services import run_sandbox

    run_sandbox(host, port)


@app.command()
def dev(
    demo: bool = typer.Option(False, help="Run the demo once Ferry is up."),
    exit_after_demo: bool = typer.Option(False, help="Stop after the demo instead of serving on."),
    port: int = typer.Option(8080, help="Preferred gateway port (a free one is used if taken)."),
    broker: str = typer.Option(
        "tansu", help="tansu (in memory, light) or kafka (Apache Kafka, kept in .ferry/kafka; "
        "needs Java and Maven)."),
) -> None:
    """Start the embedded platform: broker, Postgres, every service and the sandbox, in one
    command."""
    from .dev import run_dev

    if broker not in ("tansu", "kafka"):
        raise typer.BadParameter(f"unknown broker {broker!r}; choose tansu or kafka")
    code = asyncio.run(run_dev(demo=demo, exit_after_demo=exit_after_demo, gateway_port=port,
                               broker_kind=broker))
    raise typer.Exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
