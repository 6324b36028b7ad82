"""Airlock's payload codec and data converter for the Temporal Python SDK (crypto/encryption-codec.ts).

Each payload, metadata and all, is serialised as a ``temporal.api.common.v1.Payload`` message and sealed with
AES-256-GCM: ``data`` = 12-byte random IV || ciphertext || 16-byte tag, no additional data; its metadata is only
``encoding: binary/encrypted`` and ``encryption-key-id: <id>``, in the clear so keys can rotate (encrypt with the
current key, decrypt with whichever one a payload names). It fails closed: a payload that is not encrypted with one of
the keys (plain, a foreign or unknown key id, a cut or altered ciphertext) is an error, never data.

Failures use ``encode_common_attributes``, as the TypeScript side does (common/failure-converter.ts), so their
messages and stack traces are encrypted payloads too.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from .errors import CodecError, ConfigError
from .terminal_text import visible

__all__ = [
    "ENCRYPTED_ENCODING",
    "KEY_ID_METADATA",
    "CodecKeys",
    "AesGcmCodec",
    "parse_codec_keys",
    "codec_keys_from_env",
    "airlock_data_converter",
]

#: Encoding of an encrypted payload.
ENCRYPTED_ENCODING = b"binary/encrypted"
#: Metadata key naming the key a payload was encrypted with.
KEY_ID_METADATA = "encryption-key-id"
_IV_BYTES = 12
_TAG_BYTES = 16


@dataclass(frozen=True)
class CodecKeys:
    """Codec keys: all of them decrypt; ``current`` encrypts."""

    current: str
    keys: Mapping[str, bytes]


class AesGcmCodec(PayloadCodec):
    """AES-256-GCM over each whole payload, with the key id in the clear; refuses whatever is not sealed with a key."""

    def __init__(self, codec_keys: CodecKeys) -> None:
        for key_id, key in codec_keys.keys.items():
            if len(key) != 32:
                raise ConfigError(f'Codec key "{visible(key_id)}" has {len(key)} bytes; AES-256 needs 32.')
        if codec_keys.current not in codec_keys.keys:
            raise ConfigError(f'The current codec key "{visible(codec_keys.current)}" is not among the keys.')
        self._current_id = codec_keys.current
        self._ciphers = {key_id: AESGCM(key) for key_id, key in codec_keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def encode_one(self, payload: Payload) -> Payload:
        """Seals one payload with the current key (a fresh IV each time)."""
        iv = os.urandom(_IV_BYTES)
        sealed = self._ciphers[self._current_id].encrypt(iv, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: self._current_id.encode("utf-8")},
            data=iv + sealed,
        )

    def decode_one(self, payload: Payload) -> Payload:
        """Opens one payload; ``CodecError`` saying why when it is not sealed with one of the keys."""
        encoding = payload.metadata.get("encoding", b"").decode("utf-8", "replace")
        if encoding.encode("utf-8") != ENCRYPTED_ENCODING:
            raise CodecError(
                f'A payload is not encrypted (encoding "{visible(encoding[:40])}"); Airlock accepts only payloads '
                "encrypted with its codec keys."
            )
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(
                f'A payload was encrypted with key "{visible(key_id[:40])}", which this process does not have. '
                "Add it to the codec keys."
            )
        data = payload.data
        if len(data) < _IV_BYTES + _TAG_BYTES:
            raise CodecError("An encrypted payload is too short to hold its IV and tag: it was cut or forged.")
        try:
            plain = cipher.decrypt(data[:_IV_BYTES], data[_IV_BYTES:], None)
            return Payload.FromString(plain)
        except Exception:  # InvalidTag, or sealed bytes that are no Payload
            raise CodecError(
                f'An encrypted payload (key "{visible(key_id)}") does not authenticate: it was altered or forged.'
            ) from None


def parse_codec_keys(text: str, where: str) -> CodecKeys:
    """The key file's form: ``{"current": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "..."}}``."""
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{where} is not JSON: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("current"), str) or not isinstance(raw.get("keys"), dict):
        raise ConfigError(
            f'{where} must be {{ "current": "<key id>", "keys": {{ "<key id>": "<base64 of 32 bytes>" }} }}.'
        )
    keys: dict[str, bytes] = {}
    for key_id, value in raw["keys"].items():
        try:
            keys[key_id] = base64.b64decode(str(value))
        except (binascii.Error, ValueError):
            raise ConfigError(f'Codec key "{visible(key_id)}" in {where} is not base64.') from None
    return CodecKeys(current=raw["current"], keys=keys)


def codec_keys_from_env(env: Mapping[str, str] | None = None) -> CodecKeys | None:
    """Codec keys from ``AIRLOCK_CODEC_KEYS`` (the key file's JSON) or ``AIRLOCK_CODEC_KEY_FILE`` (a path to it)."""
    env = os.environ if env is None else env
    if env.get("AIRLOCK_CODEC_KEYS"):
        return parse_codec_keys(env["AIRLOCK_CODEC_KEYS"], "AIRLOCK_CODEC_KEYS")
    path = env.get("AIRLOCK_CODEC_KEY_FILE")
    if path:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as err:
            raise ConfigError(f"Cannot read AIRLOCK_CODEC_KEY_FILE {path}: {err.strerror}") from None
        return parse_codec_keys(text, path)
    return None


def airlock_data_converter(keys: CodecKeys) -> DataConverter:
    """The data converter of an Airlock client: payloads and failure details encrypted, nothing accepted that is not."""
    return DataConverter(
        payload_codec=AesGcmCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
