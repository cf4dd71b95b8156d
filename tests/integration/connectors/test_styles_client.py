"""Every paging, incremental and deletion style of the test definitions, against the replay
provider over real HTTP: several pages, then only the changes, then the deletions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ferry_connectors import ConnectorClient
from ferry_connectors.loader import load_all

STYLES = ["replay_cursor", "replay_stripe", "replay_soql", "replay_link", "replay_offset",
          "replay_pages", "replay_search"]


async def _sync(client, since=None):
    rows, ids, deleted, state, pages = [], [], [], None, 0
    while True:
        page = await client.fetch_page("ITEMS", state, since=since)
        rows += page.records
        ids += page.ids
        deleted += page.deleted_ids
        pages += 1
        if page.next_state is None:
            if since is not None:
                deleted += await client.fetch_deleted("ITEMS", since)
            return rows, ids, deleted, pages
        state = page.next_state


@pytest.mark.parametrize("name", STYLES)
async def test_each_style_pages_picks_up_changes_and_finds_deletions(
    name, replay, style_folder, make_http
):
    definition = load_all([style_folder])[name]
    # A dataset of its own: the platform test syncs `name`, the other client its own.
    ds = f"{name}_client_{make_http.kind}"
    async with make_http() as http:
        await http.post(f"{replay.url}/_admin/{ds}/seed", json={"count": 25})
        client = ConnectorClient(definition, http, base_url=definition.base_url.replace(name, ds),
                                 headers={"Authorization": "Bearer replay:test"})
        rows, ids, _, pages = await _sync(client)
        assert pages == 3 and len(set(ids)) == 25
        mark = datetime.now(UTC)
        changed = (await http.post(f"{replay.url}/_admin/{ds}/mutate",
                                   json={"update": 2, "create": 1, "delete": 1})).json()
        later_rows, later_ids, deleted, _ = await _sync(client, since=mark)
    model = definition.models["ITEMS"]
    prefix = "item:" if model.id == ["kind", "id"] else ""
    wanted = {prefix + i for i in changed["updated"] + changed["created"]}
    inc = model.incremental
    if inc is None or inc.format == "date" or inc.lookback_seconds:
        assert wanted <= set(later_ids)  # asks for everything (or the whole day) again
    else:
        assert set(later_ids) == wanted
    if model.deletion.type == "full_sync_diff":
        assert prefix + changed["deleted"][0] not in later_ids  # gone from the full listing
    else:
        assert deleted == changed["deleted"]
    if model.fields:
        assert all(set(r) <= set(model.fields) for r in later_rows)
