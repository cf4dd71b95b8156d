"""Templates of a definition: placeholders, whole-value placeholders, paths and time formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ferry_connectors.template import (
    TemplateError,
    format_time,
    get_path,
    parse_time,
    render,
    render_value,
)

CTX = {"base_url": "https://api.acme.test", "connection_config": {"region": "eu"}, "id": "42",
       "data": {"name": "Ada"}, "since": 1700000000}


def test_placeholders_and_connection_config_fields_are_rendered_and_braces_escaped():
    assert render("{base_url}/{connection_config.region}/items/{id}", CTX) == \
        "https://api.acme.test/eu/items/42"
    assert render("{{literal}} {id}", CTX) == "{literal} 42"


def test_an_unknown_placeholder_is_an_error_not_an_empty_string():
    with pytest.raises(TemplateError, match="connection_config.tenant"):
        render("{connection_config.tenant}", CTX)


def test_a_lone_placeholder_keeps_its_value_so_a_body_carries_the_record_as_an_object():
    body = render_value({"properties": "{data}", "after": "{since}", "tags": ["{id}", 3]}, CTX)
    assert body == {"properties": {"name": "Ada"}, "after": 1700000000, "tags": ["42", 3]}


def test_dotted_paths_read_nested_objects_and_list_items():
    body = {"paging": {"next": {"after": "c2"}}, "items": [{"id": 1}]}
    assert get_path(body, "paging.next.after") == "c2"
    assert get_path(body, "items.0.id") == 1
    assert get_path(body, "paging.prev", "none") == "none"
    assert get_path(body, "") is body


WHEN = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("style", "lookback", "expected"), [
    ("iso8601", 0, "2026-03-01T12:00:30Z"), ("date", 0, "2026-03-01"),
    ("epoch_seconds", 0, 1772366430), ("epoch_millis", 0, 1772366430000),
    ("iso8601", 30, "2026-03-01T12:00:00Z"),
])
def test_times_are_formatted_as_the_provider_wants_with_the_lookback_applied(style, lookback,
                                                                            expected):
    assert format_time(WHEN, style, lookback) == expected


@pytest.mark.parametrize("value", ["2026-03-01T12:00:30Z", 1772366430, 1772366430000,
                                   "1772366430000", "2026-03-01T12:00:30"])
def test_provider_times_parse_from_iso_text_or_epoch_seconds_or_millis(value):
    assert parse_time(value) == WHEN


def test_what_is_not_a_time_parses_to_none():
    assert parse_time("soon") is None and parse_time(True) is None and parse_time(None) is None
