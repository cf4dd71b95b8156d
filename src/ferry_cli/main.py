"""The `ferry` command: operate Ferry (projects, migrations, services) and run it locally."""

from __future__ import annotations

import asyncio
import json

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


@project_app.command("create")
def project_create(name: str = typer.Option(..., "--name", help="The project's display name.")) -> None:
    """Create a project; prints {"project_id", "secret_key", "signing_key"}."""
    from .services import create_project

    created = asyncio.run(create_project(name))
    typer.echo(json.dumps(created))


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
        raise typer.BadParameter(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    from .services import run_service

    run_service(service)


@app.command()
def sandbox(port: int = typer.Option(8090, help="Port to listen on."), host: str = "127.0.0.1") -> None:
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
    """Start the embedded platform: broker, Postgres, every service and the sandbox, in one process."""
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
