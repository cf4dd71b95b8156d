"""Rendering a definition's templates, reading dotted paths, and formatting times.

`{name}` and `{connection_config.field}` are replaced by their values. A string that is exactly
one placeholder (`"{data}"`, `"{since}"`) is replaced by the value itself, so a JSON body
template `{"properties": "{data}"}` carries the customer's record as an object. `{{` and `}}`
are literal braces. An unknown placeholder is an error, never an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_WHOLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_.]*)\}$")
_MISSING = object()


class TemplateError(ValueError):
    pass


def get_path(data: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (`paging.next.after`, `items.0.id`); "" is the data itself."""
    if not path:
        return data
    if "." not in path and type(data) is dict:  # a record's own field: no walk
        return data.get(path, default)
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return default
    return data


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in nested dicts, creating them as needed."""
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def _lookup(context: Mapping[str, Any], name: str) -> Any:
    value = get_path(context, name, _MISSING)
    if value is _MISSING:
        raise TemplateError(f"unknown placeholder {{{name}}}")
    return value


def render(template: str, context: Mapping[str, Any]) -> str:
    """A string template rendered to a string."""
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = _lookup(context, match.group(1))
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(one, template)


def render_value(template: Any, context: Mapping[str, Any]) -> Any:
    """A JSON template (dicts, lists, strings) rendered; a lone placeholder keeps its value's
    type."""
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        return _lookup(context, whole.group(1)) if whole else render(template, context)
    if isinstance(template, Mapping):
        return {render(str(k), context): render_value(v, context) for k, v in template.items()}
    if isinstance(template, list):
        return [render_value(v, context) for v in template]
    return template


def form_fields(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON value as form fields with bracketed keys (`metadata[plan]`, `items[0][price]`), as
    form-encoded APIs such as Stripe's read them; booleans as true/false, null as empty."""
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for k, v in value.items():
            pairs += form_fields(v, f"{prefix}[{k}]" if prefix else str(k))
        return pairs
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in form_fields(v, f"{prefix}[{i}]")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, "" if value is None else str(value))]


def format_time(when: datetime, style: str, lookback_seconds: int = 0) -> str | int:
    """A time as a provider wants it: iso8601, date, epoch_seconds or epoch_millis."""
    when = when.astimezone(UTC) - timedelta(seconds=lookback_seconds)
    if style == "date":
        return when.date().isoformat()
    if style == "epoch_seconds":
        return int(when.timestamp())
    if style == "epoch_millis":
        return int(when.timestamp() * 1000)
    return when.isoformat().replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    """A provider's time: ISO 8601 text, a date, or epoch seconds/milliseconds (by magnitude)."""
    if type(value) is str and not value.isdigit():  # once per record of a page: text first
        return _iso(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
    if isinstance(value, str):
        return _iso(value)
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), UTC)
    return None


def _iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
