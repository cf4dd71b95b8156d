"""The OpenAPI spec shows the integrations routes and the new connection fields."""

from __future__ import annotations

from ferry_gateway.api import create_api


def test_the_spec_shows_integrations_connection_config_and_credentials():
    spec = create_api().openapi()
    assert {"put", "get", "delete"} <= set(spec["paths"]["/v1/integrations/{provider}"])
    assert "get" in spec["paths"]["/v1/integrations"]
    [param] = spec["paths"]["/v1/integrations/{provider}"]["put"]["parameters"]
    assert param["schema"]["pattern"] == "^[a-z][a-z0-9_]{0,62}$"
    schemas = spec["components"]["schemas"]
    assert {"client_id", "client_secret", "scopes", "api_base_url", "auth_base_url"} == set(
        schemas["IntegrationIn"]["properties"])
    assert "client_secret" not in schemas["IntegrationOut"]["properties"]
    assert {"connection_config", "credentials"} <= set(schemas["ConnectionIn"]["properties"])
