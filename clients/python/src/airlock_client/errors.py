"""Airlock's errors, as the TypeScript side names them (common/errors.ts).

Each has a stable ``type`` that code matches on, and a message that says what was wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable

from .terminal_text import visible

__all__ = [
    "AirlockError",
    "ConfigError",
    "ActionNotFoundError",
    "IdempotencyConflictError",
    "PlanIntegrityError",
    "UnknownTaskError",
    "ActionTimeoutError",
    "CodecError",
]


class AirlockError(Exception):
    """Base of Airlock's errors; ``type`` is the same string the TypeScript side uses."""

    type = "AIRLOCK_ERROR"


class ConfigError(AirlockError):
    """Configuration is missing or malformed (the environment, a key file, codec keys, a catalog file)."""

    type = "AIRLOCK_CONFIG"


class ActionNotFoundError(AirlockError):
    """No action has this id."""

    type = "AIRLOCK_ACTION_NOT_FOUND"

    def __init__(self, action_id: str) -> None:
        super().__init__(
            f'No action with id "{visible(action_id)}". Run `airlock pending` or `airlock list` to see actions.'
        )
        self.action_id = action_id


class IdempotencyConflictError(AirlockError):
    """An idempotency key was reused for a different proposal."""

    type = "AIRLOCK_IDEMPOTENCY_CONFLICT"

    def __init__(self, key: str, action_id: str) -> None:
        super().__init__(
            f'Idempotency key "{visible(key)}" was already used for a different proposal '
            f"(action {visible(action_id)}). Use a new key for a new proposal, or resend exactly the same proposal "
            "to get the existing action."
        )


class PlanIntegrityError(AirlockError):
    """What Temporal returned as an action's plan is not what its hash says: it is not shown as the plan."""

    type = "AIRLOCK_PLAN_MISMATCH"

    def __init__(self, action_id: str) -> None:
        super().__init__(
            f"Action {visible(action_id)}: the plan Temporal returned does not match its hash, so what you would be "
            "shown is not what you would sign. Nothing was signed. Check which Temporal you are connected to "
            "(TEMPORAL_ADDRESS) and report it."
        )


class UnknownTaskError(AirlockError):
    """The task (or tool) name is not in the catalog."""

    type = "AIRLOCK_UNKNOWN_TASK"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        names = ", ".join(known) or "(none)"
        super().__init__(
            f'Unknown task "{visible(name)}". Registered tasks: {names}. Run `airlock tasks` to list them.'
        )


class ActionTimeoutError(AirlockError, TimeoutError):
    """An action was not final (or not in the awaited status) in time; it goes on."""

    type = "AIRLOCK_TIMEOUT"


class CodecError(AirlockError, ValueError):
    """A payload is not encrypted with one of the codec keys (plain, a foreign key, altered or cut)."""

    type = "AIRLOCK_UNDECODABLE"
