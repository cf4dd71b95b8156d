"""Loading connector definitions: the built-in catalogue, then the folders in FERRY_CONNECTORS_PATH.

A file that does not fit the schema is reported with every error and its location (the file, the
path inside it, and the line where YAML knows it); a later folder's provider replaces an earlier
one of the same name, so a customer may override a built-in definition.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .definition import Definition

CATALOGUE = Path(__file__).parent / "catalogue"
PATH_VARIABLE = "FERRY_CONNECTORS_PATH"


@dataclass(frozen=True)
class Problem:
    file: str
    location: str  # dotted path inside the file, e.g. models.CONTACTS.paging.type
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.location or '(top)'}: {self.message}"


class DefinitionError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node along `loc` that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and part < len(node.value)):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def parse(text: str, file: str = "<definition>") -> Definition:
    """One definition from YAML text; DefinitionError lists every problem with its location."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DefinitionError([Problem(file, "", mark.line + 1 if mark else None,
                                       f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise DefinitionError([Problem(file, "", 1, "a definition is a mapping")])
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # Union members add their tag to the location (`paging.cursor.cursor_path`); keep
            # the path as the file spells it.
            loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
            problems.append(Problem(file, ".".join(str(p) for p in loc), _line_of(root, loc),
                                    err["msg"]))
        raise DefinitionError(problems) from None


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part.endswith("]") or part in _UNION_TAGS)


_UNION_TAGS = {
    "oauth2", "oauth2_client_credentials", "api_key", "basic", "none", "cursor",
    "cursor_from_record", "next_url", "link_header", "offset", "page_number", "page_token",
    "full_sync_diff", "tombstone", "endpoint",
}


def load_file(path: Path) -> Definition:
    return parse(path.read_text(), str(path))


def folders() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(PATH_VARIABLE, "").split(os.pathsep) if p.strip()]
    return [CATALOGUE, *extra]


def load_all(paths: list[Path] | None = None) -> dict[str, Definition]:
    """Every definition by name; all problems of all files are raised together."""
    found: dict[str, Definition] = {}
    problems: list[Problem] = []
    for folder in paths if paths is not None else folders():
        if not folder.is_dir():
            problems.append(Problem(str(folder), "", None, "not a folder"))
            continue
        for file in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                definition = load_file(file)
            except DefinitionError as exc:
                problems += exc.problems
                continue
            found[definition.name] = definition
    if problems:
        raise DefinitionError(problems)
    return found
