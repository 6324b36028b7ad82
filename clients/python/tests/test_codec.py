"""The payload codec on its own: sealed payloads round-trip, keys rotate, and nothing unsealed is taken as data."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest
from temporalio.api.common.v1 import Payload

from airlock_client import AesGcmCodec, CodecError, CodecKeys, ConfigError, airlock_data_converter, parse_codec_keys
from airlock_client.codec import codec_keys_from_env

K1, K2 = os.urandom(32), os.urandom(32)


def test_sealed_payloads_hide_the_value_and_round_trip_through_the_data_converter() -> None:
    converter = airlock_data_converter(CodecKeys("k2", {"k1": K1, "k2": K2}))
    value = {"customerId": "C-1001", "note": "secret-ish note"}
    [sealed] = asyncio.run(converter.encode([value]))
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata["encryption-key-id"] == b"k2"
    assert set(sealed.metadata) == {"encoding", "encryption-key-id"}
    assert b"secret-ish" not in sealed.data and b"C-1001" not in sealed.data
    assert asyncio.run(converter.decode([sealed])) == [value]
    [again] = asyncio.run(converter.encode([value]))
    assert again.data[:12] != sealed.data[:12], "a fresh IV each time"


def test_an_old_key_still_opens_what_it_sealed_and_a_removed_one_does_not() -> None:
    old = AesGcmCodec(CodecKeys("k1", {"k1": K1}))
    sealed = old.encode_one(Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}'))
    rotated = AesGcmCodec(CodecKeys("k2", {"k1": K1, "k2": K2}))
    assert rotated.decode_one(sealed).data == b'{"a":1}'
    with pytest.raises(CodecError, match='key "k1"'):
        AesGcmCodec(CodecKeys("k2", {"k2": K2})).decode_one(sealed)


def test_plain_altered_and_cut_payloads_are_refused() -> None:
    codec = AesGcmCodec(CodecKeys("k1", {"k1": K1}))
    with pytest.raises(CodecError, match="not encrypted"):
        codec.decode_one(Payload(metadata={"encoding": b"json/plain"}, data=b"{}"))
    sealed = codec.encode_one(Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}'))
    altered = Payload()
    altered.CopyFrom(sealed)
    altered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(CodecError, match="altered or forged"):
        codec.decode_one(altered)
    cut = Payload()
    cut.CopyFrom(sealed)
    cut.data = sealed.data[:20]
    with pytest.raises(CodecError, match="too short"):
        codec.decode_one(cut)


def test_key_configuration_errors_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match="32"):
        AesGcmCodec(CodecKeys("k1", {"k1": b"short"}))
    with pytest.raises(ConfigError, match="not among the keys"):
        AesGcmCodec(CodecKeys("k9", {"k1": K1}))
    with pytest.raises(ConfigError, match="not JSON"):
        parse_codec_keys("{", "AIRLOCK_CODEC_KEYS")
    with pytest.raises(ConfigError, match="must be"):
        parse_codec_keys('{"keys": {}}', "AIRLOCK_CODEC_KEYS")


def test_keys_come_from_the_environment_as_the_typescript_side_reads_them(tmp_path: object) -> None:
    text = json.dumps({"current": "k1", "keys": {"k1": base64.b64encode(K1).decode()}})
    assert codec_keys_from_env({"AIRLOCK_CODEC_KEYS": text}) == CodecKeys("k1", {"k1": K1})
    path = os.path.join(str(tmp_path), "codec-keys.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    assert codec_keys_from_env({"AIRLOCK_CODEC_KEY_FILE": path}) == CodecKeys("k1", {"k1": K1})
    assert codec_keys_from_env({}) is None
    with pytest.raises(ConfigError, match="Cannot read"):
        codec_keys_from_env({"AIRLOCK_CODEC_KEY_FILE": path + ".missing"})
