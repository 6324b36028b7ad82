"""The catalog's tasks as tools an agent framework can call, bound to one agent identity.

The identity (agent, user) is set by the backend that builds the tools, never by the model: a model can choose a
tool and its input, not whom it acts as. A call proposes the task, waits a while for the action to settle (to
finish, or to wait for approval), and answers with the agent's view of it (``agent_view``), as the MCP server's
``propose_action`` does. No framework is imported:

- OpenAI (Chat Completions / Responses): ``tools=airlock.openai()``, then ``await airlock.call(name, arguments)``
  for each tool call (``arguments`` is the JSON text the model wrote, or a dict).
- Anthropic (Messages): ``tools=airlock.anthropic()``, then ``await airlock.call(block.name, block.input)``.
- LangChain and the like: ``for t in airlock.generic(): StructuredTool.from_function(coroutine=t.call,
  name=t.name, description=t.description, args_schema=t.parameters)``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .agent_view import agent_view
from .catalog import Task
from .client import DECIDING_STATUSES, AirlockClient
from .errors import ActionTimeoutError, AirlockError, IdempotencyConflictError
from .tool_definitions import (
    anthropic_tools,
    openai_tools,
    task_for_tool,
    tool_description,
    tool_name_for,
    tool_parameters,
)

__all__ = ["AirlockTool", "AirlockTools"]


@dataclass(frozen=True)
class AirlockTool:
    """One task as a framework-neutral tool: ``await call(**input)`` proposes it and answers the agent's view."""

    name: str
    description: str
    #: The input's JSON Schema.
    parameters: Mapping[str, Any]
    call: Callable[..., Awaitable[dict[str, Any]]]


class AirlockTools:
    """Tools for one agent (and the user it acts for), over one ``AirlockClient``."""

    def __init__(
        self,
        client: AirlockClient,
        agent: str,
        user: str | None = None,
        *,
        catalog: Sequence[Task] | None = None,
        settle_seconds: float = 30.0,
    ) -> None:
        self.client = client
        self.agent = agent
        self.user = user
        self.catalog = list(catalog) if catalog is not None else client.list_tasks()
        self.settle_seconds = settle_seconds

    def openai(self) -> list[dict[str, Any]]:
        """The tools in OpenAI's format."""
        return openai_tools(self.catalog)

    def anthropic(self) -> list[dict[str, Any]]:
        """The tools in Anthropic's format."""
        return anthropic_tools(self.catalog)

    def generic(self) -> list[AirlockTool]:
        """The tools as ``(name, description, parameters, call)``."""

        def bind(tool_name: str) -> Callable[..., Awaitable[dict[str, Any]]]:
            async def call(**kwargs: Any) -> dict[str, Any]:
                return await self.call(tool_name, kwargs)

            return call

        return [
            AirlockTool(
                name=tool_name_for(t.name),
                description=tool_description(t),
                parameters=tool_parameters(t),
                call=bind(tool_name_for(t.name)),
            )
            for t in self.catalog
        ]

    async def call(
        self,
        tool_name: str,
        arguments: Mapping[str, Any] | str,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Proposes the task a tool name stands for, with the model's arguments as its input.

        Raises ``UnknownTaskError`` for a name that is not one of the catalog's tools, and ``AirlockError`` for
        arguments that are not a JSON object; nothing is proposed then. Otherwise answers the agent's view of the
        action once it has finished or waits for approval, or after ``settle_seconds`` (still running).
        """
        task = task_for_tool(self.catalog, tool_name)
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError as err:
                raise AirlockError(f"The arguments of {tool_name_for(task)} are not JSON: {err}.") from None
        if not isinstance(arguments, Mapping):
            raise AirlockError(f"The arguments of {tool_name_for(task)} must be a JSON object.")
        # A key is this agent's for this user (as the MCP server scopes it): another user's tools sending the same key
        # reach another action, and are never told this one's id. User ids hold no ':' and are 2+ characters long.
        scoped = None if idempotency_key is None else f"{self.user or '-'}:{idempotency_key}"
        try:
            proposal = await self.client.propose(
                task,
                dict(arguments),
                self.agent,
                user=self.user,
                reason=reason,
                dry_run=dry_run,
                idempotency_key=scoped,
            )
        except IdempotencyConflictError:
            raise AirlockError(
                "The idempotency key was already used for a different proposal; nothing was done. Use a new key for "
                "a new proposal, or resend exactly the same proposal to get the existing action."
            ) from None
        try:
            await self.client.wait_for(proposal.id, DECIDING_STATUSES, timeout=self.settle_seconds)
        except ActionTimeoutError:
            pass  # still running: the view says so
        return agent_view(await self.client.get(proposal.id), self.catalog)
