"""The Python client against the real stack: the Temporal dev server and the TypeScript Airlock worker that
test/python-client.test.ts starts, with the demo CRM behind it. Nothing here is mocked.

What these show: a proposal Python signs and seals is admitted, planned, run and read back; Python reads what the
TypeScript client started and finds it by the same idempotency key; a proposal signed with the wrong key, altered
after signing, from an unknown agent, for another action or unsealed is refused by the worker; a forged plan or a
stranger's later run is never taken for the action; an encoded failure comes back readable; the tasks work as tools.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from airlock_client import (
    DECIDING_STATUSES,
    AirlockClient,
    AirlockError,
    AirlockTools,
    IdempotencyConflictError,
    PlanIntegrityError,
    action_id_for,
    agent_view,
    load_signing_key,
    plan_hash,
)

from conftest import Stack
from rogue_workflows import RogueActionWorkflow

pytestmark = pytest.mark.stack

Run = Callable[[Coroutine[Any, Any, Any]], Any]
NOTE = "crm.add_note_to_customer"
UPDATE = "crm.update_customer"
# Every attack targets C-1004: the jest side checks afterwards that its tier never changed.
ATTACK_INPUT = {"customerId": "C-1004", "changes": {"tier": "platinum"}}


def _refused(state: dict[str, Any], code: str) -> None:
    """Ended invalid before policy, with the one proposal issue `code`: never planned, never executed."""
    assert state["status"] == "invalid", state
    assert [(i["path"], i["code"]) for i in state["issues"]] == [(["proposal"], code)]
    assert "policy" not in state and "plan" not in state and "result" not in state
    assert [t["status"] for t in state["transitions"]] == ["validating", "invalid"]


# -- proposing, running, reading back ------------------------------------------------------------------------------


def test_python_proposes_the_typescript_worker_runs_it_and_python_reads_the_result(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    note = "from Python — “é” 😀"
    p = run(airlock.propose(NOTE, {"customerId": "C-1001", "note": note}, "support-bot", user="alice", reason="py"))
    assert re.fullmatch(r"act-[0-9a-f]{24}", p.id) and p.status == "validating" and not p.existing
    state = run(airlock.result(p.id, timeout=60))
    assert state["status"] == "succeeded", state.get("error") or state.get("issues")
    assert (state["agent"], state["user"], state["reason"]) == ("support-bot", "alice", "py")
    assert state["input"] == {"customerId": "C-1001", "note": note}
    assert state["result"]["idempotencyKey"] == p.id
    assert run(airlock.get(p.id)) == state
    stack.hand_off("succeeded", p.id)


def test_a_dry_run_ends_planned_with_a_plan_whose_hash_python_recomputes(airlock: AirlockClient, run: Run) -> None:
    p = run(
        airlock.propose(UPDATE, {"customerId": "C-1002", "changes": {"tier": "platinum"}}, "support-bot", "alice",
                        dry_run=True)
    )
    state = run(airlock.result(p.id, timeout=60))
    assert state["status"] == "planned", state.get("error") or state.get("issues")
    assert state["dryRun"] is True and "result" not in state
    plan = state["plan"]
    assert plan["hash"] == plan_hash(UPDATE, state["input"], plan)
    assert {"path": "tier", "op": "change", "before": "silver", "after": "platinum"} in plan["diff"]


def test_a_waiting_action_is_read_by_query_its_plan_checked_and_a_refused_update_comes_back_decrypted(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    p = run(
        airlock.propose(UPDATE, {"customerId": "C-1002", "changes": {"tier": "gold"}}, "support-bot", "alice",
                        reason="customer asked")
    )
    assert run(airlock.wait_for(p.id, DECIDING_STATUSES, timeout=60)) == "awaiting_approval"
    state = run(airlock.get(p.id))
    assert state["status"] == "awaiting_approval" and state["approvalsRequired"] == 1
    assert state["plan"]["hash"] == plan_hash(UPDATE, state["input"], state["plan"])
    view = agent_view(state, airlock.list_tasks())
    assert view["approvals"] == {"given": 0, "needed": 1, "expires_at": state["expiresAt"]}
    # The validator's refusal crosses as a failure whose message is sealed (encode_common_attributes): Python opens it.
    with pytest.raises(WorkflowUpdateFailedError) as err:
        run(airlock.temporal.get_workflow_handle(p.id).execute_update("decide", "not a decision"))
    cause = err.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == "malformed"
    assert cause.message.startswith("The decision is malformed"), cause.message
    # Left waiting: the jest side approves it as bob, and checks that the worker then executes it.
    stack.hand_off("awaiting_approval", p.id, customerId="C-1002", tier="gold")


def test_python_reads_an_action_the_typescript_client_started(airlock: AirlockClient, run: Run, stack: Stack) -> None:
    ts = json.loads(stack.ts_actions)
    state = run(airlock.result(ts["plain"], timeout=60))
    assert state["status"] == "succeeded", state.get("error") or state.get("issues")
    assert state["input"] == {"customerId": "C-1003", "note": "from TypeScript"}
    assert run(airlock.get(ts["plain"]))["id"] == ts["plain"]


def test_the_same_idempotency_key_finds_the_action_the_typescript_client_proposed(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    keyed = json.loads(stack.ts_actions)["keyed"]
    r = keyed["request"]
    p = run(
        airlock.propose(r["task"], r["input"], r["agent"], user=r["user"], reason=r["reason"],
                        idempotency_key=keyed["idempotencyKey"])
    )
    # The same action id (the agent's deterministic signature) and the same request hash (canonical JSON) as TypeScript.
    assert (p.id, p.existing) == (keyed["id"], True)


def test_an_idempotency_key_gives_one_action_and_refuses_a_different_proposal(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    key = f"py-{uuid.uuid4().hex}"
    note = {"customerId": "C-1005", "note": "once only"}
    first = run(airlock.propose(NOTE, note, "support-bot", user="alice", idempotency_key=key))
    again = run(airlock.propose(NOTE, note, "support-bot", user="alice", idempotency_key=key))
    assert (again.id, first.existing, again.existing) == (first.id, False, True)
    with pytest.raises(IdempotencyConflictError):
        run(airlock.propose(NOTE, {**note, "note": "twice"}, "support-bot", user="alice", idempotency_key=key))
    assert run(airlock.result(first.id, timeout=60))["status"] == "succeeded"
    stack.hand_off("succeeded", first.id)


# -- the attacker's proposals --------------------------------------------------------------------------------------


def test_a_proposal_as_support_bot_signed_with_another_agents_key_is_refused(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    ops_key = load_signing_key("ops-bot", stack.keys_dir)
    p = run(airlock.propose(UPDATE, ATTACK_INPUT, "support-bot", user="alice", key=ops_key))
    stack.hand_off("attack", p.id)
    _refused(run(airlock.result(p.id, timeout=60)), "proposal_bad_signature")


def test_an_input_changed_after_signing_is_refused(airlock: AirlockClient, run: Run, stack: Stack) -> None:
    key = load_signing_key("support-bot", stack.keys_dir)
    action_id = action_id_for("support-bot", None, key)
    request = {"task": UPDATE, "input": {"customerId": "C-1004", "changes": {"tier": "gold"}}, "agent": "support-bot",
               "user": "alice"}
    signed = airlock.sign_proposal(action_id, request, None, key)
    signed["input"] = ATTACK_INPUT
    run(airlock.temporal.start_workflow("actionWorkflow", signed, id=action_id, task_queue=stack.task_queue))
    stack.hand_off("attack", action_id)
    _refused(run(airlock.result(action_id, timeout=60)), "proposal_bad_signature")


def test_an_unregistered_agent_with_a_key_of_its_own_is_refused(airlock: AirlockClient, run: Run, stack: Stack) -> None:
    p = run(airlock.propose(UPDATE, ATTACK_INPUT, "rogue-bot", user="alice", key=Ed25519PrivateKey.generate()))
    stack.hand_off("attack", p.id)
    _refused(run(airlock.result(p.id, timeout=60)), "unknown_agent")


def test_a_proposal_signed_for_another_action_is_refused(airlock: AirlockClient, run: Run, stack: Stack) -> None:
    key = load_signing_key("support-bot", stack.keys_dir)
    request = {"task": UPDATE, "input": ATTACK_INPUT, "agent": "support-bot", "user": "alice"}
    signed = airlock.sign_proposal(action_id_for("support-bot", None, key), request, None, key)
    other = action_id_for("support-bot", None, key)
    run(airlock.temporal.start_workflow("actionWorkflow", signed, id=other, task_queue=stack.task_queue))
    stack.hand_off("attack", other)
    _refused(run(airlock.result(other, timeout=60)), "proposal_wrong_action")


def test_a_proposal_sent_without_the_codec_is_refused_as_undecodable(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    plain = run(Client.connect(stack.address, namespace=stack.namespace))
    key = load_signing_key("support-bot", stack.keys_dir)
    action_id = action_id_for("support-bot", None, key)
    request = {"task": UPDATE, "input": ATTACK_INPUT, "agent": "support-bot", "user": "alice"}
    signed = airlock.sign_proposal(action_id, request, None, key)
    run(plain.start_workflow("actionWorkflow", signed, id=action_id, task_queue=stack.task_queue))
    stack.hand_off("attack", action_id)
    _refused(run(airlock.result(action_id, timeout=60)), "proposal_undecodable")


# -- forged state ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rogue_queue(airlock: AirlockClient, loop: asyncio.AbstractEventLoop, run: Run) -> Iterator[str]:
    """A task queue served by the attacker's own actionWorkflow (with the codec keys: the strongest attacker)."""
    queue = f"rogue-{uuid.uuid4().hex}"
    worker = Worker(
        airlock.temporal,
        task_queue=queue,
        workflows=[RogueActionWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    running = loop.create_task(worker.run())
    yield queue
    run(worker.shutdown())
    run(running)


def _state(action_id: str, plan: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": action_id,
        "runId": "forged",
        "task": UPDATE,
        "status": "awaiting_approval",
        "agent": "support-bot",
        "requester": "alice",
        "owners": ["dave"],
        "dryRun": False,
        "input": {"customerId": "C-1002", "changes": {"tier": "gold"}},
        "plan": plan,
        "stalePlans": [],
        "approvalsRequired": 1,
        "approvedBy": [],
        "approvals": [],
        **extra,
    }


def test_a_plan_that_is_not_what_its_hash_says_is_refused(
    airlock: AirlockClient, run: Run, stack: Stack, rogue_queue: str
) -> None:
    honest = {"target": "demo-crm:customer/C-1002", "summary": "Tier silver → gold", "sideEffects": ["Writes"],
              "before": {"tier": "silver"}, "after": {"tier": "gold"},
              "diff": [{"path": "tier", "op": "change", "before": "silver", "after": "gold"}]}
    state_input = {"customerId": "C-1002", "changes": {"tier": "gold"}}
    honest["hash"] = plan_hash(UPDATE, state_input, honest)
    # Shown "harmless", hashed as the real change: an approver would review one plan and sign another.
    forged = {**honest, "summary": "Add a harmless note"}
    stale = {**honest, "after": {"tier": "platinum"}}
    rogue = AirlockClient(airlock.temporal, task_queue=rogue_queue, keys_dir=stack.keys_dir)
    for plan, extra in ((forged, {}), (honest, {"stalePlans": [stale]})):
        action_id = "act-" + uuid.uuid4().hex[:24]
        handle = run(
            airlock.temporal.start_workflow(
                "actionWorkflow", {"state": _state(action_id, plan, **extra), "keep_running": True}, id=action_id,
                task_queue=rogue_queue,
            )
        )
        try:
            with pytest.raises(PlanIntegrityError):
                run(rogue.get(action_id))  # asked by query: the rogue worker answers
        finally:
            run(handle.terminate())
    # The honest plan alone passes: the check refuses the forgery, not every plan.
    action_id = "act-" + uuid.uuid4().hex[:24]
    run(airlock.temporal.start_workflow("actionWorkflow", {"state": _state(action_id, honest)}, id=action_id,
                                        task_queue=rogue_queue))
    assert run(rogue.result(action_id, timeout=30))["plan"]["hash"] == honest["hash"]


def test_a_strangers_later_run_under_a_finished_actions_id_is_not_taken_for_the_action(
    airlock: AirlockClient, run: Run, stack: Stack, rogue_queue: str
) -> None:
    p = run(airlock.propose(NOTE, {"customerId": "C-1001", "note": "the real one"}, "support-bot", user="alice"))
    real = run(airlock.result(p.id, timeout=60))
    assert real["status"] == "succeeded"
    forged = {**real, "runId": "forged", "result": {**real["result"], "output": {"forged": True}}}
    stranger = run(
        airlock.temporal.start_workflow("actionWorkflow", {"state": forged}, id=p.id, task_queue=rogue_queue,
                                        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    )
    run(stranger.result())
    # By default a handle reads the latest run: the stranger's.
    assert run(airlock.temporal.get_workflow_handle(p.id).result())["result"]["output"] == {"forged": True}
    fresh = AirlockClient(airlock.temporal, task_queue=stack.task_queue, keys_dir=stack.keys_dir)
    assert run(fresh.get(p.id))["result"]["output"] == real["result"]["output"]
    assert run(fresh.result(p.id, timeout=30))["result"]["output"] == real["result"]["output"]
    stack.hand_off("succeeded", p.id)


# -- listing, and the tasks as tools ---------------------------------------------------------------------------------


def test_tools_propose_as_the_bound_agent_and_answer_the_agents_view(
    airlock: AirlockClient, run: Run, stack: Stack
) -> None:
    tools = AirlockTools(airlock, "support-bot", user="alice")
    [note_tool] = [t for t in tools.generic() if t.name == "crm__add_note_to_customer"]
    view = run(note_tool.call(customerId="C-1005", note="via a generic tool"))
    assert (view["task"], view["status"]) == (NOTE, "succeeded"), view
    assert "result" in view and set(view) <= {"action_id", "task", "status", "summary", "side_effects", "diff",
                                              "approvals", "issues", "result", "error"}
    stack.hand_off("succeeded", view["action_id"])
    # OpenAI hands over the arguments as JSON text; the worker validates them (a missing field ends invalid).
    invalid = run(tools.call("crm__add_note_to_customer", json.dumps({"customerId": "C-1001"})))
    assert invalid["status"] == "invalid" and invalid["issues"][0]["path"] == ["input", "note"], invalid
    planned = run(tools.call("crm__update_customer", {"customerId": "C-1005", "changes": {"tier": "gold"}},
                             dry_run=True))
    assert planned["status"] == "planned", planned
    state = run(airlock.get(planned["action_id"]))
    assert (state["agent"], state["user"]) == ("support-bot", "alice")


def test_tools_keep_an_idempotency_key_to_their_user(airlock: AirlockClient, run: Run) -> None:
    alice = AirlockTools(airlock, "support-bot", user="alice")
    bob = AirlockTools(airlock, "support-bot", user="bob")
    mine = run(alice.call("crm__add_note_to_customer", {"customerId": "C-1002", "note": "alice's"}, idempotency_key="k-7"))
    # The same key from another user's tools: another action (denied: support-bot acts for alice only), never a
    # conflict that would name alice's action.
    theirs = run(bob.call("crm__add_note_to_customer", {"customerId": "C-1002", "note": "bob's"}, idempotency_key="k-7"))
    assert theirs["action_id"] != mine["action_id"]
    assert theirs["status"] == "denied", theirs
    assert mine["action_id"] not in json.dumps(theirs)
    # Resent by alice's tools, the same action.
    again = run(alice.call("crm__add_note_to_customer", {"customerId": "C-1002", "note": "alice's"}, idempotency_key="k-7"))
    assert again["action_id"] == mine["action_id"]


def test_list_actions_reads_visibility_and_refuses_filters_that_are_not_names(airlock: AirlockClient, run: Run) -> None:
    p = run(airlock.propose(NOTE, {"customerId": "C-1002", "note": "to be listed"}, "ops-bot"))
    run(airlock.result(p.id, timeout=60))

    async def listed() -> Any:
        for _ in range(50):
            found = [a for a in await airlock.list_actions(agent="ops-bot", task=NOTE) if a.id == p.id]
            if found and found[0].status != "validating":
                return found[0]
            await asyncio.sleep(0.2)
        return None

    summary = run(listed())
    assert summary is not None and (summary.agent, summary.requester, summary.task) == ("ops-bot", "ops-bot", NOTE)
    assert summary.status in ("succeeded", "denied")
    for bad in ({"task": "x' OR WorkflowId != ''"}, {"status": "bogus"}, {"risk": "none"}, {"agent": "a b"}):
        with pytest.raises(AirlockError):
            run(airlock.list_actions(**bad))


def test_list_tasks_gives_the_catalog_with_json_schemas(airlock: AirlockClient) -> None:
    tasks = {t.name: t for t in airlock.list_tasks()}
    assert tasks[NOTE].input_schema["required"] == ["customerId", "note"]
    assert tasks[UPDATE].risk == "high"


def test_connect_reads_temporal_codec_keys_and_the_keys_dir_from_the_environment(
    stack: Stack, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", stack.address)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", stack.namespace)
    monkeypatch.setenv("AIRLOCK_CODEC_KEYS", stack.codec_keys)
    monkeypatch.setenv("AIRLOCK_KEYS_DIR", stack.keys_dir)
    client = run(AirlockClient.connect(task_queue=stack.task_queue))
    p = run(client.propose(NOTE, {"customerId": "C-1003", "note": "from the environment"}, "support-bot", "alice"))
    assert run(client.result(p.id, timeout=60))["status"] == "succeeded"
    stack.hand_off("succeeded", p.id)
