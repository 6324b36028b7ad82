"""Connecting: what is not given comes from the environment, as the TypeScript client reads it; what is missing is
named before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from airlock_client import AirlockClient, ConfigError

_ENV = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE", "AIRLOCK_CODEC_KEYS", "AIRLOCK_CODEC_KEY_FILE")


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    # No Temporal CLI config file either.
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "none.toml"))
    return monkeypatch


def test_without_an_address_it_says_to_set_temporal_address(bare_env: pytest.MonkeyPatch, run: Any) -> None:
    with pytest.raises(ConfigError, match="TEMPORAL_ADDRESS is not set"):
        run(AirlockClient.connect(codec_keys='{"current":"k","keys":{"k":"' + "A" * 43 + '="}}'))


def test_without_codec_keys_it_says_where_they_come_from(bare_env: pytest.MonkeyPatch, run: Any) -> None:
    with pytest.raises(ConfigError, match="AIRLOCK_CODEC_KEY_FILE"):
        run(AirlockClient.connect(address="127.0.0.1:1"))
