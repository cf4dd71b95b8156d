"""The operator endpoints and the records history are in the OpenAPI spec; the console's pages
are not (they are HTML for browsers); console sessions cannot be read or forged."""

from __future__ import annotations

import time

from ferry_gateway.api import create_api
from ferry_gateway.console import session as sessions

ADMIN = "admin-token-for-tests-0123"


def test_the_spec_lists_projects_connections_and_record_versions():
    paths = create_api().openapi()["paths"]
    assert {"get", "post"} <= set(paths["/v1/projects"])
    assert "post" in paths["/v1/projects/{project_id}/rotate-key"]
    assert "get" in paths["/v1/connections"]
    assert "get" in paths["/v1/connections/{connection_id}/records/{data_model}/{record_id}"]
    assert not [p for p in paths if p.startswith("/console")]


def test_a_session_cookie_does_not_show_the_secret_key():
    session = sessions.new("key", "fsk_the-secret-key")
    sealed = sessions.seal(session, ADMIN)
    assert "fsk_" not in sealed and "the-secret-key" not in sealed
    assert sessions.unseal(sealed, ADMIN) == session


def test_a_changed_or_foreign_or_expired_session_is_no_session():
    sealed = sessions.seal(sessions.new("key", "fsk_x"), ADMIN)
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert sessions.unseal(flipped, ADMIN) is None
    assert sessions.unseal(sealed, "another-admin-token-0123") is None
    old = sessions.Session("key", "fsk_x", "csrf", time.time() - 1)
    assert sessions.unseal(sessions.seal(old, ADMIN), ADMIN) is None
