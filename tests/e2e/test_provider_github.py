"""GitHub through the real services (each its own process, real broker and Postgres) against the
loopback GitHub: the OAuth app's consent, three pages of issues by `Link` header, an incremental
run by `since` that outlasts a spent rate limit, a deleted issue found by the full-sync diff,
and write-back by issue number."""

from __future__ import annotations

import pytest
from support.e2e import Api, click_through
from support.providers.github import CLIENT_ID, CLIENT_SECRET, GitHub

pytestmark = pytest.mark.slow
REPO = "octo-org/hello-world"


@pytest.fixture
async def github():
    server = await GitHub().serve()
    yield server
    await server.stop()


async def _live(api: Api, cid: str) -> set[str]:
    resp = await api.http.get(f"/v1/connections/{cid}/records/ISSUES",
                              params={"limit": 1000, "include_deleted": "false"})
    assert resp.status_code == 200, resp.text
    return {r["id"] for r in resp.json()["records"]}


async def _connect(api: Api, github: GitHub) -> str:
    app = await api.http.put("/v1/integrations/github", json={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "api_base_url": github.url, "auth_base_url": github.url})
    assert app.status_code == 200, app.text
    done = "http://127.0.0.1:9/done"
    created = await api.http.post("/v1/users/u-gh/connections", json={
        "provider_name": "github", "requested_data_types": ["ISSUES"], "return_url": done,
        "connection_config": {"repository": REPO},
        "sync_config": {"data_models": [
            {"data_model": "ISSUES", "frequency": "DAILY", "access": "READ_WRITE"}]}})
    assert created.status_code == 201, created.text
    landed = await click_through(created.json()["redirect_url"], done, ("connect", {}),
                                 ("authorize", {}))
    assert "status=success" in landed, landed
    [exchange] = github.token_requests
    assert "application/json" in exchange["accept"] and exchange["form"]["code_verifier"]
    return created.json()["id"]


async def test_github_issues_connect_sync_by_link_and_since_survive_a_rate_limit_and_write_back(
        platform, github):
    github.seed(REPO, 250)
    api = Api(platform, platform.create_project())
    try:
        cid = await _connect(api, github)
        [initial] = await api.wait_jobs(cid, 1, data_model="ISSUES")
        assert initial["pagination_state"]["pages"] == 3 and initial["counts"]["created"] == 250
        first = github.issue_requests[0]
        assert first["state"] == "all" and first["per_page"] == "100" and "since" not in first
        assert first["accept"] == "application/vnd.github+json"
        assert first["api_version"] == "2022-11-28"

        github.touch(REPO, 7, title="Edited")
        github.touch(REPO, 9, state="closed")
        github.new_issue(REPO, {"title": "Fresh"})
        github.limited = 1
        before = len(github.issue_requests)
        [job] = await api.sync(cid, [{"data_model": "ISSUES"}])
        done = await api.wait_job(job["id"])
        assert done["status"] == "complete", done
        assert done["counts"]["created"] == 1 and done["counts"]["updated"] == 2, done
        asked = github.issue_requests[before:]
        assert len(asked) >= 2 and all(a["since"] == "2023-11-14T22:17:29Z" for a in asked)

        github.delete(REPO, 5)
        [full] = await api.sync(cid, [{"data_model": "ISSUES"}], full_sync=True)
        done = await api.wait_job(full["id"])
        assert done["status"] == "complete" and done["counts"]["deleted"] == 1, done
        live = await _live(api, cid)
        assert "5" not in live and "251" in live and len(live) == 250

        made = await api.http.post(f"/v1/connections/{cid}/records/ISSUES",
                                   json={"data": {"title": "From Ferry", "body": "hi"}})
        assert made.status_code == 201, made.text
        assert made.json()["id"] == "252"
        changed = await api.http.patch(f"/v1/connections/{cid}/records/ISSUES/252",
                                       json={"data": {"state": "closed"}})
        assert changed.status_code == 200, changed.text
        assert github.writes == [
            ("POST", f"/repos/{REPO}/issues", {"title": "From Ferry", "body": "hi"}),
            ("PATCH", f"/repos/{REPO}/issues/252", {"state": "closed"})]
    finally:
        await api.close()
