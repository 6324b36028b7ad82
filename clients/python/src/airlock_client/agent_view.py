"""What a model may see of an action (client/agent-view.ts): enough to act on, and nothing it must not see.

Results are already redacted of secrets by the workers; the plan is shown only when policy lets the agent preview
the task, and then the current values of the task's ``hiddenFromAgents`` fields are masked in the diff (approvers
see everything). Agent backends should hand their model this, not the state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .catalog import Task

__all__ = ["HIDDEN_FROM_AGENTS", "agent_view"]

#: What replaces a value an agent must not see.
HIDDEN_FROM_AGENTS = "[hidden from agents]"


def _is_under(path: str, field: str) -> bool:
    return path == field or path.startswith(f"{field}.") or path.startswith(f"{field}[")


def agent_view(state: Mapping[str, Any], catalog: Sequence[Task]) -> dict[str, Any]:
    """The agent's view of an action's state; fields absent from the state are absent here too."""
    task = next((t for t in catalog if t.name == state.get("task")), None)
    hidden = list(task.hidden_from_agents) if task else []

    def mask(entry: Mapping[str, Any]) -> dict[str, Any]:
        if "before" in entry and any(_is_under(str(entry.get("path", "")), f) for f in hidden):
            return {**entry, "before": HIDDEN_FROM_AGENTS}
        return dict(entry)

    policy = state.get("policy") or {}
    plan = state.get("plan") if policy.get("agentMayPreview") else None
    view: dict[str, Any] = {"action_id": state.get("id"), "task": state.get("task"), "status": state.get("status")}
    if plan:
        view["summary"] = plan.get("summary")
        view["side_effects"] = plan.get("sideEffects")
        view["diff"] = [mask(d) for d in plan.get("diff") or []]
    elif state.get("plan"):
        view["summary"] = HIDDEN_FROM_AGENTS
    if state.get("approvalsRequired"):
        approvals = {"given": len(state.get("approvedBy") or []), "needed": state["approvalsRequired"]}
        if state.get("expiresAt") is not None:
            approvals["expires_at"] = state["expiresAt"]
        view["approvals"] = approvals
    for key, source in (("issues", "issues"), ("error", "error")):
        if source in state:
            view[key] = state[source]
    result = state.get("result")
    if isinstance(result, Mapping) and "output" in result:
        view["result"] = result["output"]
    return view
