"""Shared fixtures: the vectors, one event loop for the session, and the real stack from the environment.

The stack tests (marked ``stack``) run against the Temporal and the Airlock worker that test/python-client.test.ts
starts for them (``npm test``), named by ``AIRLOCK_TEST_*`` variables. Without them those tests fail and say so;
``-m 'not stack'`` runs the unit tests alone, on purpose.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from airlock_client import AirlockClient

T = TypeVar("T")

VECTORS_FILE = Path(__file__).parent / "vectors" / "shared-vectors.json"

#: What the stack tests need, and the variable that names each.
STACK_ENV = {
    "address": "AIRLOCK_TEST_TEMPORAL_ADDRESS",
    "namespace": "AIRLOCK_TEST_NAMESPACE",
    "codec_keys": "AIRLOCK_TEST_CODEC_KEYS",
    "task_queue": "AIRLOCK_TEST_TASK_QUEUE",
    "keys_dir": "AIRLOCK_TEST_KEYS_DIR",
    "handoff": "AIRLOCK_TEST_HANDOFF",
    "ts_actions": "AIRLOCK_TEST_TS_ACTIONS",
}


@dataclass(frozen=True)
class Stack:
    """The stack test/python-client.test.ts started: Temporal, a worker on ``task_queue``, the agents' keys."""

    address: str
    namespace: str
    codec_keys: str
    task_queue: str
    keys_dir: str
    handoff: str
    ts_actions: str

    def hand_off(self, kind: str, action_id: str, **extra: Any) -> None:
        """Tells the jest side about an action, for it to check after pytest (it reads the file line by line)."""
        with open(self.handoff, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "id": action_id, **extra}) + "\n")


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """The shared vectors the TypeScript side wrote and checks too."""
    return json.loads(VECTORS_FILE.read_text("utf-8"))


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for the session: a Temporal client and worker live on the loop they were made on."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def run(loop: asyncio.AbstractEventLoop) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Runs a coroutine to its end on the session's loop."""
    return loop.run_until_complete


@pytest.fixture(scope="session")
def stack() -> Stack:
    missing = [name for name in STACK_ENV.values() if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: the stack tests run against the stack that test/python-client.test.ts "
            "starts (run `npm test`, or `node scripts/with-node.js npx jest test/python-client.test.ts`). "
            "To run only the unit tests, add -m 'not stack'.",
            pytrace=False,
        )
    return Stack(**{field: os.environ[name] for field, name in STACK_ENV.items()})


@pytest.fixture(scope="session")
def airlock(stack: Stack, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> AirlockClient:
    """An Airlock client on the stack's worker queue, with the test agents' keys."""
    return run(
        AirlockClient.connect(
            address=stack.address,
            namespace=stack.namespace,
            codec_keys=stack.codec_keys,
            keys_dir=stack.keys_dir,
            task_queue=stack.task_queue,
        )
    )


def vector_key(vectors: dict[str, Any]) -> Any:
    """The vectors' signing key: Ed25519 from the sha-256 of a sentence, public by design (the repository holds no
    private key; test/python-client.test.ts derives the same)."""
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hashlib.sha256(vectors["signing"]["keySeedText"].encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)
