"""Telemetry off installs no global tracer provider, so FastAPI traces no request."""

from __future__ import annotations

from fastapi import FastAPI
from ferry_kit import telemetry
from ferry_kit.settings import KitSettings
from opentelemetry import trace


def test_telemetry_off_leaves_http_requests_untraced() -> None:
    provider = telemetry.configure(KitSettings(internal_token="t" * 16, telemetry="off"), "x")
    assert trace.get_tracer_provider() is not provider
    assert not FastAPI()._native_telemetry.enabled()
