"""Per-project provider apps: stored with the secret encrypted and never returned; an OAuth
connection needs its project's own app, and a project never uses another project's."""

from __future__ import annotations

import secrets


async def _put(harness, project: str, provider: str, **body) -> object:
    return await harness.api.put(f"/internal/projects/{project}/integrations/{provider}", json=body)


async def test_an_app_is_stored_listed_and_deleted_and_its_secret_is_never_returned(
    harness, project, pg
):
    secret = "cs-" + secrets.token_hex(12)
    resp = await _put(
        harness,
        project,
        "acme_oauth",
        client_id="app-1",
        client_secret=secret,
        scopes=["offline"],
        api_base_url=harness.acme.url,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {
        "provider",
        "client_id",
        "scopes",
        "api_base_url",
        "auth_base_url",
        "created_at",
        "updated_at",
    }
    assert (body["provider"], body["client_id"], body["scopes"]) == (
        "acme_oauth",
        "app-1",
        ["offline"],
    )
    listed = (await harness.api.get(f"/internal/projects/{project}/integrations")).json()["data"]
    assert {i["provider"] for i in listed} == {"sandbox", "acme_oauth"} and secret not in str(
        listed
    )
    stored = await pg.fetchval(
        "SELECT client_secret FROM connections.integrations WHERE "
        "project_id = $1 AND provider = 'acme_oauth'",
        project,
    )
    assert secret.encode() not in bytes(stored)
    # A PUT without the secret keeps the stored one.
    assert (await _put(harness, project, "acme_oauth", client_id="app-2")).status_code == 200
    again = await pg.fetchval(
        "SELECT client_secret FROM connections.integrations WHERE "
        "project_id = $1 AND provider = 'acme_oauth'",
        project,
    )
    assert bytes(again) == bytes(stored)
    where = f"/internal/projects/{project}/integrations/acme_oauth"
    assert (await harness.api.get(where)).json()["client_id"] == "app-2"
    assert (await harness.api.delete(where)).status_code == 204
    assert (await harness.api.get(where)).status_code == 404


async def test_an_unknown_provider_or_an_oauth_app_without_client_id_is_refused(harness, project):
    assert (await _put(harness, project, "nope", client_id="x")).status_code == 404
    resp = await _put(harness, project, "acme_oauth", client_secret="s")
    assert resp.status_code == 422 and resp.json()["error"]["details"][0]["field"] == "client_id"


async def test_an_oauth_connection_of_a_project_without_an_app_is_refused_with_409(harness, unique):
    resp = await harness.api.post(
        f"/internal/projects/prj_bare_{unique}/users/u-1/connections",
        json={"provider_name": "sandbox", "requested_data_types": ["CONTACTS"]},
    )
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "integration_not_configured"


async def test_a_project_never_uses_another_projects_app(harness, unique):
    mine, theirs, bare = f"prj_a_{unique}", f"prj_b_{unique}", f"prj_c_{unique}"
    for project, client in ((mine, "app-mine"), (theirs, "app-theirs")):
        await harness.configure(
            project,
            "acme_oauth",
            client_id=client,
            client_secret=f"s-{client}",
            api_base_url=harness.acme.url,
            auth_base_url=harness.acme.url,
        )
    conn = await harness.create(theirs, provider="acme_oauth", types=["CONTACTS"])
    browser = await harness.browse(conn["redirect_url"], ("connect", {}))
    assert "status=success" in browser.url, browser.url
    assert harness.acme.authorizations[-1]["client_id"] == "app-theirs"
    assert harness.acme.token_requests[-1]["basic"] == "app-theirs:s-app-theirs"
    # The app of one project makes no other project configured.
    resp = await harness.api.post(
        f"/internal/projects/{bare}/users/u-1/connections",
        json={"provider_name": "acme_oauth", "requested_data_types": ["CONTACTS"]},
    )
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "integration_not_configured"
    providers = (await harness.api.get("/internal/providers", params={"project_id": mine})).json()
    configured = {p["name"]: p["configured"] for p in providers}
    assert configured["acme_oauth"] and configured["sandbox"] is False


async def test_the_catalogue_shows_auth_types_connection_config_and_docs(harness, project):
    providers = {
        p["name"]: p
        for p in (
            await harness.api.get("/internal/providers", params={"project_id": project})
        ).json()
    }
    assert (
        providers["sandbox"]["configured"] is True and providers["acme_key"]["configured"] is False
    )
    assert {p["auth_type"] for p in providers.values()} >= {
        "oauth2",
        "oauth2_client_credentials",
        "api_key",
        "basic",
        "none",
    }
    assert providers["acme_key"]["connection_config"] == [
        {
            "name": "api_url",
            "type": "url",
            "required": True,
            "description": "Your Acme API address",
        },
        {
            "name": "region",
            "type": "string",
            "required": False,
            "pattern": "^(eu|us)$",
            "description": "eu or us",
        },
    ]
    assert providers["acme_oauth"]["docs_url"] == "https://developer.acme.invalid/oauth"
    assert providers["acme_oauth"]["connection_config"] == []  # captured, never given
