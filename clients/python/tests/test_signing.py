"""Agents' key files: read as `airlock keys new` writes them, and refused clearly when missing or not a name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from airlock_client import ConfigError, load_signing_key, public_key_text, sign_payload, verify_payload
from airlock_client.signing import parse_public_key
from cryptography.hazmat.primitives import serialization

from conftest import vector_key


def test_a_key_file_written_by_the_typescript_side_loads_and_signs(tmp_path: Path, vectors: dict[str, Any]) -> None:
    # The key file as `airlock keys new` writes it (PKCS#8 PEM), of the vectors' key.
    pem = vector_key(vectors).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "support-bot.key").write_bytes(pem)
    key = load_signing_key("support-bot", tmp_path)
    assert public_key_text(key) == vectors["signing"]["publicKey"]
    public = parse_public_key(vectors["signing"]["publicKey"], "support-bot")
    p = vectors["signing"]["proposals"][0]
    assert verify_payload("airlock.proposal.v1", p["payload"], p["signature"], public)
    # Domain separation: the same payload signed as a decision does not verify as a proposal.
    as_decision = sign_payload("airlock.decision.v1", p["payload"], key)
    assert not verify_payload("airlock.proposal.v1", p["payload"], as_decision, public)
    assert not verify_payload("airlock.proposal.v1", {**p["payload"], "dryRun": True}, p["signature"], public)
    assert not verify_payload("airlock.proposal.v1", p["payload"], "not base64!", public)


def test_a_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="airlock keys new ops-bot"):
        load_signing_key("ops-bot", tmp_path)


@pytest.mark.parametrize("name", ["../etc/passwd", "a", "bot\x1b[2J", "ü-bot"])
def test_a_key_name_that_is_not_an_identifier_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="must be 2-64") as err:
        load_signing_key(name, tmp_path)
    assert "\x1b" not in str(err.value)


def test_a_public_key_that_is_not_ed25519_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="ed25519:<base64>"):
        parse_public_key("ssh-ed25519 AAAA", "bob")
    assert parse_public_key(public_key_text(Ed25519PrivateKey.generate()), "bob") is not None
