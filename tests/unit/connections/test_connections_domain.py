"""Seed 004's state machine, sync config validation and resolution, with no I/O."""

from __future__ import annotations

import itertools

import pytest
from ferry_connections import domain
from ferry_connections.catalogue import Catalogue
from ferry_connections.domain import (
    Conflict,
    Invalid,
    ModelConfig,
    ProjectConfig,
    check_return_url,
    validate_origins,
)
from ferry_contracts.values import CONNECTION_STATUSES

CATALOGUE = Catalogue.load()
SANDBOX = CATALOGUE.get("sandbox")
STATUSES = CONNECTION_STATUSES
ALLOWED = {
    ("CONNECTED", "DISCONNECTED"),
    ("AUTH_ERROR", "DISCONNECTED"),
    ("DISCONNECTED", "AUTH_REQUIRED"),
    ("AUTH_ERROR", "AUTH_REQUIRED"),
}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(STATUSES, ("DISCONNECTED", "AUTH_REQUIRED")))
)
def test_a_status_change_is_allowed_exactly_from_the_statuses_seed_004_names(current, target):
    if (current, target) in ALLOWED:
        domain.check_patch_status(current, target)
    else:
        with pytest.raises(Conflict) as e:
            domain.check_patch_status(current, target)
        assert e.value.code == "invalid_transition" and current in e.value.message


@pytest.mark.parametrize("current", STATUSES)
def test_requested_data_types_change_only_while_disconnected_or_in_auth_error(current):
    if current in ("DISCONNECTED", "AUTH_ERROR"):
        domain.check_requested_types_editable(current)
    else:
        with pytest.raises(Conflict, match=current):
            domain.check_requested_types_editable(current)


def test_requested_types_are_upper_cased_deduplicated_and_checked_against_the_provider():
    assert domain.normalize_types(SANDBOX, ["contacts", "CONTACTS", "Invoices"]) == [
        "CONTACTS",
        "INVOICES",
    ]
    with pytest.raises(Invalid) as e:
        domain.normalize_types(SANDBOX, ["contacts", "payroll"])
    assert e.value.details[0]["field"] == "requested_data_types[1]"


def test_a_custom_frequency_without_or_below_the_minimum_interval_is_refused_naming_the_field():
    with pytest.raises(Invalid) as e:
        domain.validate_models(
            [
                {"data_model": "contacts", "frequency": "CUSTOM"},
                {"data_model": "invoices", "frequency": "CUSTOM", "interval_minutes": 0},
                {"data_model": "payroll"},
            ],
            CATALOGUE.all(),
        )
    fields = [d["field"] for d in e.value.details]
    assert fields == [
        "data_models[0].interval_minutes",
        "data_models[1].interval_minutes",
        "data_models[2].data_model",
    ]


def test_a_connection_config_is_checked_against_its_own_provider_and_requested_types():
    with pytest.raises(Invalid) as e:
        domain.validate_models(
            [{"data_model": "files", "frequency": "CUSTOM", "interval_minutes": 2}],
            [SANDBOX],
            prefix="sync_config.data_models",
            allowed=["CONTACTS"],
        )
    assert [d["field"] for d in e.value.details] == [
        "sync_config.data_models[0].data_model",
        "sync_config.data_models[0].interval_minutes",
    ]


def test_without_any_config_every_requested_model_syncs_daily_with_read_access():
    resolved = domain.desired_config(SANDBOX, ["CONTACTS", "INVOICES"], None, ProjectConfig())
    assert [(m.data_model, m.frequency, m.access) for m in resolved] == [
        ("CONTACTS", "DAILY", "READ"),
        ("INVOICES", "DAILY", "READ"),
    ]


def test_the_project_config_applies_to_requested_models_and_disabled_ones_are_left_out():
    project = ProjectConfig(
        (
            ModelConfig("CONTACTS", "HOURLY", None, "READ_WRITE"),
            ModelConfig("INVOICES", access="DISABLED"),
            ModelConfig("FILES", "WEEKLY"),
        )
    )
    resolved = domain.desired_config(SANDBOX, ["CONTACTS", "INVOICES"], None, project)
    assert [(m.data_model, m.frequency, m.access) for m in resolved] == [
        ("CONTACTS", "HOURLY", "READ_WRITE")
    ]


def test_a_connection_config_replaces_the_project_config_and_unlisted_models_do_not_sync():
    project = ProjectConfig((ModelConfig("CONTACTS", "HOURLY"), ModelConfig("INVOICES", "HOURLY")))
    own = [ModelConfig("INVOICES", "WEEKLY", access="WRITE")]
    resolved = domain.desired_config(SANDBOX, ["CONTACTS", "INVOICES"], own, project)
    assert [(m.data_model, m.frequency, m.access) for m in resolved] == [
        ("INVOICES", "WEEKLY", "WRITE")
    ]


def test_scopes_needed_are_the_union_for_the_access_levels():
    config = [ModelConfig("CONTACTS", access="READ_WRITE"), ModelConfig("INVOICES", access="READ")]
    assert domain.required_scopes(SANDBOX, config) == [
        "contacts.read",
        "contacts.write",
        "invoices.read",
    ]


def test_config_needing_scopes_not_granted_keeps_syncing_at_the_granted_level_until_reauthorized():
    config = [ModelConfig("CONTACTS", access="READ_WRITE"), ModelConfig("INVOICES", access="READ")]
    granted = ["contacts.read"]
    assert domain.missing_scopes(SANDBOX, config, granted) == ["contacts.write", "invoices.read"]
    effective = domain.effective_config(SANDBOX, config, granted)
    assert [(m.data_model, m.access) for m in effective] == [("CONTACTS", "READ")]


def test_nothing_is_missing_before_any_authorization_or_for_providers_without_authorization():
    config = [ModelConfig("CONTACTS", access="READ_WRITE")]
    assert domain.missing_scopes(SANDBOX, config, None) == []
    assert domain.missing_scopes(CATALOGUE.get("sandbox_noauth"), config, []) == []


def test_return_urls_keep_their_own_query():
    assert (
        domain.with_query("https://app.example/done?x=1", status="abort", connection_id="c1")
        == "https://app.example/done?x=1&status=abort&connection_id=c1"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/x",
        "http://",
        "https:///path",
        "http://a b.com/",
        "http://example.com/\r\nSet-Cookie:x=1",
        "http://example.com/\x00",
        "https://example.com/\x85",
        "http://example.com:99999/",
        "//example.com/",
    ],
)
def test_a_return_url_that_is_not_a_plain_http_url_is_refused_naming_the_field(url):
    with pytest.raises(Invalid) as e:
        check_return_url(url, [])
    assert e.value.details[0]["field"] == "return_url"


def test_a_return_url_must_use_one_of_the_projects_allowed_origins_when_it_lists_any():
    allowed = validate_origins(["https://App.example.com", "http://127.0.0.1:9"])
    assert allowed == ("https://app.example.com", "http://127.0.0.1:9")
    check_return_url("https://app.example.com:443/done?x=1", allowed)
    check_return_url("http://127.0.0.1:9/done", allowed)
    check_return_url("https://elsewhere.example/done", [])
    for url in (
        "https://evil.example/done",
        "http://app.example.com/done",
        "https://app.example.com.evil/",
    ):
        with pytest.raises(Invalid) as e:
            check_return_url(url, allowed)
        assert e.value.details[0]["field"] == "return_url"


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "https://user@app.example.com",
        "https://app.example.com?q=1",
    ],
)
def test_an_allowed_return_origin_must_be_a_bare_origin(origin):
    with pytest.raises(Invalid) as e:
        validate_origins([origin])
    assert e.value.details[0]["field"] == "allowed_return_origins[0]"


def test_scopes_are_derived_from_access_levels_and_the_catalogue_lists_them():
    from ferry_connections.catalogue import Provider
    from ferry_connectors.loader import load_all

    definitions = load_all()
    sandbox = Provider(definitions["sandbox"])
    assert sandbox.scopes_for(
        {"contacts": "READ_WRITE", "INVOICES": "READ", "FILES": "DISABLED"}
    ) == ["contacts.read", "contacts.write", "invoices.read"]
    entry = sandbox.entry(configured=False)
    assert entry["auth_type"] == "oauth2" and entry["unique"] is False
    scopes = {m["name"]: m["scopes"] for m in entry["data_models"]}
    assert scopes["INVOICES"] == {"READ": ["invoices.read"], "WRITE": ["invoices.write"]}
    assert Provider(definitions["sandbox_noauth"]).entry(configured=False)["unique"] is True
