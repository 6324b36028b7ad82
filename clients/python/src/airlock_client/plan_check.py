"""An action's state is believed only when every plan in it is what its hash says (client/airlock-client.ts).

Airlock's workflow never shows anything else; a Temporal that does (a server of someone else's, a stranger's
workflow) would have a person review one plan and sign another, or an agent act on a plan that is not the one
approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .canonical_json import sha256_canonical
from .errors import PlanIntegrityError

__all__ = ["MISSING", "plan_hash_body", "plan_hash", "checked_state"]

#: An absent value (JavaScript's ``undefined``): left out of the hash body, where ``None`` is JSON's ``null``.
MISSING: Any = object()

_PLAN_FIELDS = ("target", "summary", "sideEffects", "before", "after", "diff")


def plan_hash_body(task: str, input: Any, plan: Mapping[str, Any]) -> dict[str, Any]:
    """What a plan hash covers (common/plan-hash.ts): task, validated input, and everything the plan shows a person.

    As on the TypeScript side, a field that is absent is left out (``input=MISSING``), while ``None`` is ``null``.
    """
    body: dict[str, Any] = {"task": task}
    if input is not MISSING:
        body["input"] = input
    for field in _PLAN_FIELDS:
        if field in plan:
            body[field] = plan[field]
    return body


def plan_hash(task: str, input: Any, plan: Mapping[str, Any]) -> str:
    """The sha-256 (hex) of a plan's hash body."""
    return sha256_canonical(plan_hash_body(task, input, plan))


def checked_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state, refused with ``PlanIntegrityError`` unless its plan and every stale plan match their hashes."""
    for plan in [state.get("plan"), *(state.get("stalePlans") or [])]:
        if not plan:
            continue
        if not isinstance(plan, Mapping) or plan_hash(
            str(state.get("task", "")), state.get("input", MISSING), plan
        ) != plan.get("hash"):
            raise PlanIntegrityError(str(state.get("id", "")))
    return dict(state)
