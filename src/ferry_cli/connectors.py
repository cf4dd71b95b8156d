"""`ferry connectors`: the definition schema, and checking definition files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Connector definitions (one YAML file per provider).", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema every definition file must fit."""
    from ferry_connectors.definition import Definition

    typer.echo(json.dumps(Definition.model_json_schema(), indent=2))


@app.command()
def validate(files: list[Path] = typer.Argument(..., help="Definition files (.yaml).")) -> None:
    """Check definition files; print every problem with its file, line and path; exit 1 on any."""
    from ferry_connectors.loader import DefinitionError, load_file

    bad = 0
    for file in files:
        try:
            definition = load_file(file)
        except OSError as e:
            typer.echo(f"{file}: cannot be read: {e.strerror}", err=True)
            bad += 1
        except DefinitionError as e:
            for problem in e.problems:
                typer.echo(str(problem), err=True)
            bad += 1
        else:
            typer.echo(f"{file}: ok ({definition.name}, {len(definition.models)} models)")
    if bad:
        raise typer.Exit(1)
