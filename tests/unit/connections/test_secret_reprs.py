"""Objects holding credentials print without them."""

from __future__ import annotations

from datetime import UTC, datetime

SECRET = "s3cr3t-" + "Zq9" * 6


def test_a_token_set_prints_without_its_tokens():
    from ferry_connections.oauth import TokenSet

    t = TokenSet(SECRET, SECRET + "-refresh", datetime.now(UTC), ["a"])
    assert SECRET not in repr(t) and SECRET not in str(t)


def test_the_connections_settings_print_without_keys_or_client_secret():
    from ferry_connections.settings import Settings

    s = Settings(token_keys=f"k:{SECRET}", token_active_key_id="k", oauth_client_secret=SECRET,
                 internal_token=SECRET)
    assert SECRET not in repr(s) and SECRET not in str(s)


def test_the_executors_credentials_print_without_the_access_token():
    from ferry_executor.provider import Credentials

    c = Credentials(SECRET, "http://127.0.0.1:1", "sandbox", None)
    assert SECRET not in repr(c) and SECRET not in str(c)
