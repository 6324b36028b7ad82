"""The action id: the workflow id, the STS session name and the target's idempotency key (client/action-id.ts).

Without an idempotency key it is random. With one, it is derived from the agent's own deterministic Ed25519
signature over (agent, key): the same agent resending the same key reaches the same action (from either client),
keys of different agents never collide, and nobody without the agent's private key can compute the id to occupy it
first.
"""

from __future__ import annotations

import hashlib
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["action_id_for"]


def action_id_for(agent: str, idempotency_key: str | None, agent_key: Ed25519PrivateKey) -> str:
    """``act-`` and 24 hex digits."""
    if idempotency_key is None:
        return "act-" + uuid.uuid4().hex[:24]
    proof = agent_key.sign(f"airlock.action-id.v1\n{agent}\n{idempotency_key}".encode("utf-8"))
    return "act-" + hashlib.sha256(proof).hexdigest()[:24]
