"""Ed25519 signing keys of agents, in the files ``airlock keys new`` writes (crypto/signing-keys.ts).

A key directory holds ``<name>.key`` (PKCS#8 PEM, mode 0600) and ``<name>.pub`` (``ed25519:<base64 SPKI DER>``); only
the public key is registered with Airlock. A signature covers ``<purpose>\\n<canonical JSON of the payload>``, so a
signature made for one purpose can never pass for another (common/signing.ts).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical_json import canonical_json
from .errors import ConfigError
from .terminal_text import visible

__all__ = [
    "PRINCIPAL_ID",
    "SignaturePurpose",
    "keys_dir",
    "load_signing_key",
    "public_key_text",
    "parse_public_key",
    "signed_text",
    "sign_payload",
    "verify_payload",
]

#: Agents and people: what STS accepts as SourceIdentity (common/identifiers.ts), ASCII only.
PRINCIPAL_ID = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)

SignaturePurpose = Literal["airlock.proposal.v1", "airlock.decision.v1"]


def keys_dir(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """Where private keys live: ``AIRLOCK_KEYS_DIR``, else ``~/.airlock/keys``."""
    env = os.environ if env is None else env
    configured = env.get("AIRLOCK_KEYS_DIR")
    return Path(configured) if configured else Path.home() / ".airlock" / "keys"


def load_signing_key(name: str, directory: str | os.PathLike[str] | None = None) -> Ed25519PrivateKey:
    """The private key ``<name>.key`` from the keys directory; ``ConfigError`` saying what to do when it is missing."""
    if not PRINCIPAL_ID.match(name):
        raise ConfigError(f'Key name "{visible(name)}" must be 2-64 of letters, digits, +=,.@_-.')
    folder = Path(directory) if directory is not None else keys_dir()
    path = folder / f"{name}.key"
    if not path.exists():
        raise ConfigError(
            f"No private key for {name} in {folder}. Create one with `airlock keys new {name}` and register its "
            "public key, or set AIRLOCK_KEYS_DIR."
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key; create one with `airlock keys new {name}`.")
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The text form of a public key, as registered in the agents file: ``ed25519:`` + base64 of its SPKI DER."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "ed25519:" + base64.b64encode(der).decode("ascii")


def parse_public_key(text: str, who: str) -> Ed25519PublicKey:
    """Parses ``ed25519:<base64 SPKI DER>``; ``ConfigError`` naming the key's owner when malformed."""
    match = re.fullmatch(r"ed25519:([A-Za-z0-9+/=]+)", text.strip())
    if not match:
        raise ConfigError(
            f"Public key of {who} is not of the form ed25519:<base64>; copy it as `airlock keys new` printed it."
        )
    try:
        key = serialization.load_der_public_key(base64.b64decode(match.group(1)))
    except ValueError as err:
        raise ConfigError(f"Public key of {who} is not an Ed25519 public key ({err}).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"Public key of {who} is not an Ed25519 public key.")
    return key


def signed_text(purpose: SignaturePurpose, payload: Any) -> str:
    """The exact text a signature covers: the purpose, a newline, the canonical JSON of the payload."""
    return f"{purpose}\n{canonical_json(payload)}"


def sign_payload(purpose: SignaturePurpose, payload: Any, key: Ed25519PrivateKey) -> str:
    """Signs a payload for a purpose; returns base64 (Ed25519 is deterministic: the same as Node's signature)."""
    return base64.b64encode(key.sign(signed_text(purpose, payload).encode("utf-8"))).decode("ascii")


def verify_payload(purpose: SignaturePurpose, payload: Any, signature: str, key: Ed25519PublicKey) -> bool:
    """Whether a base64 signature verifies over a payload for a purpose. Never raises."""
    try:
        key.verify(base64.b64decode(signature, validate=True), signed_text(purpose, payload).encode("utf-8"))
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
