"""The catalog as tool definitions for LLM tool-calling APIs (client/tool-definitions.ts), with no framework imported.

Tool names replace each ``.`` of a task name with ``__`` (``crm__add_note_to_customer``), which those APIs require;
``task_for_tool`` maps a name back and refuses any name that is not one of the catalog's tools, so a model cannot
reach a task by inventing a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .catalog import Task
from .errors import UnknownTaskError

__all__ = [
    "tool_name_for",
    "task_for_tool",
    "tool_description",
    "tool_parameters",
    "openai_tools",
    "anthropic_tools",
]


def tool_name_for(task: str) -> str:
    """A task name as a tool name: letters, digits, ``_`` and ``-`` only."""
    return task.replace(".", "__")


def task_for_tool(catalog: Sequence[Task], tool_name: str) -> str:
    """The task a tool name stands for; ``UnknownTaskError`` for any other name."""
    for task in catalog:
        if tool_name_for(task.name) == tool_name:
            return task.name
    raise UnknownTaskError(tool_name, [tool_name_for(t.name) for t in catalog])


def tool_description(task: Task) -> str:
    """The tool's description: the task's, its risk, and that Airlock may wait for a person."""
    return (
        f"{task.description} Risk: {task.risk}; Airlock checks policy and may wait for human approval before it runs."
    )


def tool_parameters(task: Task) -> dict[str, Any]:
    """The task's input JSON Schema, without ``$schema`` (tool APIs take the schema object itself)."""
    return {k: v for k, v in task.input_schema.items() if k != "$schema"}


def openai_tools(catalog: Sequence[Task]) -> list[dict[str, Any]]:
    """OpenAI's tools format, ``{"type": "function", "function": {name, description, parameters}}``: the same
    definitions as the TypeScript ``toolDefinitions``."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool_name_for(t.name),
                "description": tool_description(t),
                "parameters": tool_parameters(t),
            },
        }
        for t in catalog
    ]


def anthropic_tools(catalog: Sequence[Task]) -> list[dict[str, Any]]:
    """Anthropic's Messages API tools format, ``{name, description, input_schema}``."""
    return [
        {"name": tool_name_for(t.name), "description": tool_description(t), "input_schema": tool_parameters(t)}
        for t in catalog
    ]
