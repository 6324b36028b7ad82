"""The task catalog: what agents may propose, with each task's input as JSON Schema (tasks/task-registry.ts).

The catalog is defined in TypeScript, next to the tasks. This package ships it as ``catalog.json``, the output of
``airlock tasks --json`` for the tasks of this repository (test/python-client.test.ts fails when it differs from
``defaultCatalog()``, and rewrites it with ``AIRLOCK_UPDATE_PYTHON_FIXTURES=1``). A deployment whose workers run
other tasks points ``AIRLOCK_CATALOG_FILE`` (or ``catalog_file=``) at its own ``airlock tasks --json`` output.

The catalog only describes: the workers decide. A proposal for a task they do not run, or with an input its schema
refuses, ends ``invalid`` and changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .terminal_text import visible

__all__ = ["Task", "load_catalog", "parse_catalog"]


@dataclass(frozen=True)
class Task:
    """What agents and their tools see of a task."""

    name: str
    description: str
    risk: str
    #: JSON Schema of the input (draft 2020-12, generated from the task's zod schema).
    input_schema: Mapping[str, Any]
    #: Plan fields whose current values agents must not see.
    hidden_from_agents: Sequence[str] = field(default_factory=tuple)
    #: What a tool client may assume of it (``destructive``, ``idempotent``), when the catalog says.
    tool_hints: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The task as ``airlock tasks --json`` writes it."""
        out = {
            "name": self.name,
            "description": self.description,
            "risk": self.risk,
            "inputSchema": dict(self.input_schema),
            "hiddenFromAgents": list(self.hidden_from_agents),
        }
        if self.tool_hints:
            out["toolHints"] = dict(self.tool_hints)
        return out


def parse_catalog(text: str, where: str) -> list[Task]:
    """Parses ``airlock tasks --json`` output; ``ConfigError`` naming the file and the entry when malformed."""
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{where} is not JSON: {err}. Write it with `npx airlock tasks --json`.") from None
    if not isinstance(raw, list):
        raise ConfigError(f"{where} must be a JSON array of tasks, as `npx airlock tasks --json` writes it.")
    tasks: list[Task] = []
    for i, entry in enumerate(raw):
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("description"), str)
            and isinstance(entry.get("risk"), str)
            and isinstance(entry.get("inputSchema"), dict)
            and isinstance(entry.get("hiddenFromAgents", []), list)
            and isinstance(entry.get("toolHints", {}), dict)
        )
        if not ok:
            raise ConfigError(
                f"{where}: entry {i} is not a task (name, description, risk, inputSchema); "
                "write the file with `npx airlock tasks --json`."
            )
        tasks.append(
            Task(
                name=entry["name"],
                description=entry["description"],
                risk=entry["risk"],
                input_schema=entry["inputSchema"],
                hidden_from_agents=tuple(str(f) for f in entry.get("hiddenFromAgents", [])),
                tool_hints=dict(entry.get("toolHints", {})),
            )
        )
    names = [t.name for t in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where} names a task twice: {visible(', '.join(duplicates))}.")
    return tasks


def load_catalog(
    catalog_file: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> list[Task]:
    """The catalog from ``catalog_file``, else ``AIRLOCK_CATALOG_FILE``, else the one shipped with this package."""
    env = os.environ if env is None else env
    path = catalog_file if catalog_file is not None else env.get("AIRLOCK_CATALOG_FILE") or None
    if path is not None:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as err:
            raise ConfigError(f"Cannot read the task catalog {path}: {err.strerror}.") from None
        return parse_catalog(text, str(path))
    shipped = resources.files("airlock_client").joinpath("catalog.json")
    return parse_catalog(shipped.read_text("utf-8"), "the catalog shipped with airlock_client")
