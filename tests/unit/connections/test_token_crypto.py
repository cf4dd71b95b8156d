"""Tokens at rest and connect links: AES-256-GCM under key ids, bound to their connection."""

from __future__ import annotations

import base64
import os

import pytest
from ferry_connections import oauth
from ferry_connections.crypto import Cipher, DecryptError, KeyConfigError, parse_keys


def _spec(**keys: bytes) -> str:
    return ",".join(f"{kid}:{base64.b64encode(k).decode()}" for kid, k in keys.items())


def test_a_token_round_trips_and_its_ciphertext_holds_no_plaintext():
    cipher = Cipher(parse_keys(_spec(t1=os.urandom(32))), "t1")
    blob = cipher.encrypt("secret-access-token", "con_1")
    assert b"secret-access-token" not in blob and blob.startswith(b"t1:")
    assert cipher.decrypt(blob, "con_1") == "secret-access-token"


def test_a_ciphertext_copied_to_another_connection_does_not_decrypt():
    cipher = Cipher(parse_keys(_spec(t1=os.urandom(32))), "t1")
    with pytest.raises(DecryptError):
        cipher.decrypt(cipher.encrypt("tok", "con_1"), "con_2")


def test_after_a_key_rotation_old_ciphertexts_still_decrypt_and_new_ones_use_the_new_key():
    k1, k2 = os.urandom(32), os.urandom(32)
    old = Cipher(parse_keys(_spec(t1=k1)), "t1").encrypt("tok", "c")
    rotated = Cipher(parse_keys(_spec(t1=k1, t2=k2)), "t2")
    assert rotated.decrypt(old, "c") == "tok"
    assert rotated.key_id_of(rotated.encrypt("tok", "c")) == "t2"


def test_bad_key_settings_refuse_to_start_with_a_clear_message():
    with pytest.raises(KeyConfigError, match="32 bytes"):
        parse_keys(_spec(t1=os.urandom(16)))
    with pytest.raises(KeyConfigError, match="ACTIVE"):
        Cipher(parse_keys(_spec(t1=os.urandom(32))), "t9")


def test_a_connect_link_signature_names_its_connection_only():
    cipher = Cipher(parse_keys(_spec(t1=os.urandom(32))), "t1")
    token = cipher.sign("con_1")
    assert cipher.verify(token, "con_1")
    assert (
        not cipher.verify(token, "con_2")
        and not cipher.verify("t1.forged", "con_1")
        and not cipher.verify("", "con_1")
    )


def test_pkce_verifiers_are_fresh_and_their_challenge_is_43_url_safe_characters():
    a, b = oauth.new_verifier(), oauth.new_verifier()
    assert a != b and 43 <= len(a) <= 128
    challenge = oauth.challenge(a)
    assert (
        len(challenge) == 43
        and "=" not in challenge
        and "+" not in challenge
        and "/" not in challenge
    )
