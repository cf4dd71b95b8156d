"""A page's JSON: parsed fast, and what the fast parser refuses still parsed as before."""

from __future__ import annotations

import math

import httpx
import pytest
from ferry_connectors import ConnectorClient, ProviderError
from ferry_connectors.definition import Definition

DEF = Definition.model_validate({
    "name": "pages", "display_name": "Pages", "base_url": "http://pages",
    "auth": {"type": "none"},
    "models": {"ITEMS": {"request": {"path": "/items"}, "records": "data"}}})


def _client(content: bytes, content_type: str = "application/json") -> ConnectorClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": content_type})

    return ConnectorClient(DEF, httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                           base_url="http://pages")


async def test_a_page_is_split_into_records_and_their_ids():
    page = await _client(b'{"data": [{"id": 1, "n": "Zo\\u00eb"}, {"id": "b"}]}').fetch_page(
        "ITEMS", None)
    assert page.records == [{"id": 1, "n": "Zoë"}, {"id": "b"}]
    assert page.ids == ["1", "b"]


async def test_numbers_the_fast_parser_refuses_are_read_as_the_standard_parser_reads_them():
    page = await _client(b'{"data": [{"id": "a", "x": NaN, "y": 1e400}]}').fetch_page(
        "ITEMS", None)
    [record] = page.records
    assert math.isnan(record["x"]) and record["y"] == math.inf


async def test_an_answer_that_is_not_json_is_a_provider_error():
    with pytest.raises(ProviderError, match="not JSON"):
        await _client(b"<html>oops</html>", "text/html").fetch_page("ITEMS", None)


async def test_an_integer_past_64_bits_is_kept_exact_not_rounded_to_a_float():
    page = await _client(
        b'{"data": [{"id": "a", "big": 123456789012345678901234, "s": "12345678901234567890",'
        b' "f": 0.123456789012345678901}]}').fetch_page("ITEMS", None)
    [record] = page.records
    assert record["big"] == 123456789012345678901234 and isinstance(record["big"], int)
    assert record["s"] == "12345678901234567890"
