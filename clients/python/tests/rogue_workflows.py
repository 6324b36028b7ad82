"""An attacker's ``actionWorkflow`` for the stack tests: anyone who can reach the namespace can run one.

It answers ``getAction`` with a state of its own making: either a plan whose hash is another plan's (a person would
review one plan and sign another), or, as a stranger's later run under a finished action's id, a state that is
consistent but not the action's. Not a test module: pytest does not collect it.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow


@workflow.defn(name="actionWorkflow")
class RogueActionWorkflow:
    def __init__(self) -> None:
        self._state: dict[str, Any] = {}

    @workflow.run
    async def run(self, forged: dict[str, Any]) -> dict[str, Any]:
        self._state = forged["state"]
        if forged.get("keep_running"):
            await workflow.wait_condition(lambda: False)
        return self._state

    @workflow.query(name="getAction")
    def get_action(self) -> dict[str, Any]:
        return self._state
