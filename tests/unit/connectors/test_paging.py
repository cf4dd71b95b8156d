"""Paging styles, each on its own: where the position goes, and where the next one comes from."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ferry_connectors.definition import Model
from ferry_connectors.hooks import HttpRequest
from ferry_connectors.paging import apply, follow


def _model(paging: dict[str, Any], **extra: Any) -> Model:
    return Model.model_validate(
        {"request": {"path": "/items"}, "page_size": 2, "paging": paging, **extra}
    )


def _next(model: Model, state: Any, body: Any, rows: list[Any], **headers: str) -> Any:
    return follow(model, state, body, rows, httpx.Response(200, headers=headers))


def _sent(model: Model, state: Any, method: str = "GET") -> HttpRequest:
    request = HttpRequest(method, "https://api.test/items")
    apply(model, state, request)
    return request


ROWS = [{"id": "a"}, {"id": "b"}]


def test_a_cursor_at_a_body_path_goes_back_in_the_query_or_the_body():
    m = _model({"type": "cursor", "cursor_path": "paging.next.after", "cursor_param": "after"})
    assert _next(m, None, {"paging": {"next": {"after": "c2"}}}, ROWS) == {"cursor": "c2"}
    assert _next(m, None, {"paging": {}}, ROWS) is None
    assert _sent(m, {"cursor": "c2"}).params == {"limit": 2, "after": "c2"}
    body = _model(
        {
            "type": "cursor",
            "cursor_path": "next",
            "cursor_param": "page.after",
            "cursor_in": "body",
        },
        limit_in="body",
    )
    assert _sent(body, {"cursor": "c2"}, "POST").json == {"limit": 2, "page": {"after": "c2"}}


def test_a_cursor_stops_when_has_more_says_so_even_with_a_cursor():
    m = _model(
        {"type": "cursor", "cursor_path": "next", "cursor_param": "after", "has_more_path": "more"}
    )
    assert _next(m, None, {"next": "c9", "more": False}, ROWS) is None


def test_a_cursor_past_the_results_cap_starts_the_query_again_from_the_last_record_time():
    inc = {"body_filter": {"since": "{since}"}, "sorted": "ascending"}
    m = _model(
        {"type": "cursor", "cursor_path": "next", "cursor_param": "after", "restart_after": 5},
        incremental=inc,
    )
    rows = [
        {"id": "a", "updated_at": "2026-01-01T00:00:00Z"},
        {"id": "b", "updated_at": "2026-01-02T00:00:00Z"},
    ]
    assert _next(m, None, {"next": "2"}, rows) == {"cursor": "2", "seen": 2}
    restarted = _next(m, {"cursor": "2", "seen": 2}, {"next": "4"}, rows)
    assert restarted == {"since": "2026-01-02T00:00:00+00:00"}
    assert _next(m, restarted, {"next": "2"}, rows) == {"cursor": "2", "seen": 2, **restarted}
    with pytest.raises(ValueError, match="sorted ascending"):
        _model({"type": "cursor", "cursor_path": "n", "cursor_param": "a", "restart_after": 5})


def test_a_cursor_from_the_last_record_follows_has_more():
    m = _model(
        {
            "type": "cursor_from_record",
            "cursor_param": "starting_after",
            "has_more_path": "has_more",
        }
    )
    assert _next(m, None, {"has_more": True}, ROWS) == {"after": "b"}
    assert _next(m, None, {"has_more": False}, ROWS) is None
    assert _sent(m, {"after": "b"}).params["starting_after"] == "b"


def test_a_next_url_in_the_body_replaces_the_url_and_its_query():
    m = _model({"type": "next_url", "next_url_path": "nextRecordsUrl"})
    assert _next(m, None, {"nextRecordsUrl": "/items?o=2"}, ROWS) == {"url": "/items?o=2"}
    assert _next(m, None, {"nextRecordsUrl": None}, ROWS) is None
    sent = _sent(m, {"url": "/items?o=2"})
    assert sent.url == "https://api.test/items?o=2" and sent.params == {}


def test_a_link_header_rel_next_is_followed_until_there_is_none():
    m = _model({"type": "link_header"})
    link = (
        '<https://api.test/items?page=2>; rel="next", <https://api.test/items?page=9>; rel="last"'
    )
    assert _next(m, None, [], ROWS, link=link) == {"url": "https://api.test/items?page=2"}
    assert _next(m, None, [], ROWS) is None


def test_offset_paging_ends_on_the_total_or_on_a_short_page():
    total = _model({"type": "offset", "total_path": "total"})
    assert _next(total, None, {"total": 3}, ROWS) == {"offset": 2}
    assert _next(total, {"offset": 2}, {"total": 3}, ROWS[:1]) is None
    short = _model({"type": "offset"})
    assert _next(short, {"offset": 2}, {}, ROWS) == {"offset": 4}
    assert _next(short, {"offset": 4}, {}, ROWS[:1]) is None
    assert _sent(short, {"offset": 4}).params == {"limit": 2, "offset": 4}


def test_page_numbers_start_where_declared_and_end_on_the_page_count_or_a_short_page():
    m = _model({"type": "page_number", "page_param": "p", "start": 0, "total_pages_path": "pages"})
    assert _sent(m, None).params["p"] == 0
    assert _next(m, None, {"pages": 2}, ROWS) == {"page": 1}
    assert _next(m, {"page": 1}, {"pages": 2}, ROWS) is None
    short = _model({"type": "page_number"})
    assert _next(short, {"page": 3}, {}, ROWS[:1]) is None


def test_page_tokens_go_back_until_the_answer_has_none():
    m = _model({"type": "page_token"})
    assert _next(m, None, {"nextPageToken": "t2"}, ROWS) == {"token": "t2"}
    assert _next(m, None, {}, ROWS) is None
    assert _sent(m, {"token": "t2"}).params["pageToken"] == "t2"


@pytest.mark.parametrize("state", [None, {}])
def test_no_paging_is_one_page_and_no_limit_parameter_when_none_is_declared(state):
    m = _model({"type": "none"}, limit_param=None)
    assert _next(m, state, {}, ROWS) is None and _sent(m, state).params == {}
