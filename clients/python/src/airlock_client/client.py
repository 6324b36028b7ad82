"""``AirlockClient`` for agent backends in Python: propose, follow, list (client/airlock-client.ts).

One action is one workflow; the action id is the workflow id. A proposal is signed with the agent's Ed25519 key
exactly as the TypeScript client signs it, started with the same id, reuse and conflict policies, search attributes
and memo, and sealed by the same payload codec: the workers cannot tell the two clients apart, and either client
reads the actions of the other.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from .action_id import action_id_for
from .canonical_json import canonical_json, sha256_canonical
from .catalog import Task, load_catalog
from .codec import CodecKeys, airlock_data_converter, codec_keys_from_env, parse_codec_keys
from .errors import (
    ActionNotFoundError,
    ActionTimeoutError,
    AirlockError,
    ConfigError,
    IdempotencyConflictError,
)
from .plan_check import checked_state
from .signing import keys_dir, load_signing_key, sign_payload
from .terminal_text import visible

__all__ = [
    "AIRLOCK_TASK_QUEUE",
    "ACTION_WORKFLOW_TYPE",
    "ACTION_STATUSES",
    "FINAL_STATUSES",
    "DECIDING_STATUSES",
    "Proposal",
    "ActionSummary",
    "AirlockClient",
    "is_final_status",
]

#: The task queue every Airlock worker polls (common/task-queue.ts).
AIRLOCK_TASK_QUEUE = "airlock-actions"
#: Workflow type name of an action.
ACTION_WORKFLOW_TYPE = "actionWorkflow"
#: The query that answers an action's whole state (common/messages.ts).
GET_ACTION_QUERY = "getAction"

#: The one status vocabulary (common/statuses.ts).
ACTION_STATUSES = (
    "validating",
    "planning",
    "awaiting_approval",
    "awaiting_reapproval",
    "executing",
    "succeeded",
    "failed",
    "invalid",
    "denied",
    "rejected",
    "expired",
    "stale",
    "cancelled",
    "planned",
)
#: Statuses an action never leaves.
FINAL_STATUSES = ("succeeded", "failed", "invalid", "denied", "rejected", "expired", "stale", "cancelled", "planned")
#: Statuses in which an action takes decisions.
DECIDING_STATUSES = ("awaiting_approval", "awaiting_reapproval")
_RISKS = ("low", "high", "critical")

# Search attributes (common/search-attributes.ts): never encrypted, so they carry no input.
SA_TASK = SearchAttributeKey.for_keyword("AirlockTask")
SA_STATUS = SearchAttributeKey.for_keyword("AirlockStatus")
SA_REQUESTER = SearchAttributeKey.for_keyword("AirlockRequester")
SA_AGENT = SearchAttributeKey.for_keyword("AirlockAgent")
SA_RISK = SearchAttributeKey.for_keyword("AirlockRisk")

# Task, agent and queue names in a visibility query are checked, never quoted (client/action-list.ts).
_LIST_NAME = re.compile(r"^[A-Za-z0-9_.@:-]{1,200}$")


def is_final_status(status: str) -> bool:
    """Whether an action in this status has finished."""
    return status in FINAL_STATUSES


@dataclass(frozen=True)
class Proposal:
    """What ``propose`` returns."""

    id: str
    status: str
    #: True when an earlier proposal with the same idempotency key was found instead of starting a new one.
    existing: bool


@dataclass(frozen=True)
class ActionSummary:
    """One line of a list: what visibility knows of an action, without asking a worker."""

    id: str
    task: str
    status: str
    requester: str
    agent: str
    risk: str | None
    started_at: datetime


def _iso_now() -> str:
    # As JavaScript's Date.prototype.toISOString writes it: milliseconds, UTC, "Z".
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _not_found(err: BaseException) -> bool:
    return isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND


class AirlockClient:
    """Airlock for agent backends: propose actions, follow them, list them and the tasks.

    Must be used from one asyncio event loop (the Temporal client's).
    """

    def __init__(
        self,
        temporal: Client,
        *,
        task_queue: str = AIRLOCK_TASK_QUEUE,
        keys_dir: str | os.PathLike[str] | None = None,
        agent_key: Callable[[str], Ed25519PrivateKey] | None = None,
        catalog: Sequence[Task] | None = None,
        catalog_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """``agent_key(agent)`` gives an agent's private key; by default ``<agent>.key`` in ``keys_dir``
        (``AIRLOCK_KEYS_DIR``, else ``~/.airlock/keys``). The catalog is ``catalog``, else read from
        ``catalog_file`` / ``AIRLOCK_CATALOG_FILE`` / the one shipped with the package when first asked for."""
        self.temporal = temporal
        self.task_queue = task_queue
        directory = keys_dir
        self._agent_key = agent_key or (lambda agent: load_signing_key(agent, directory))
        self._catalog = list(catalog) if catalog is not None else None
        self._catalog_file = catalog_file
        # Each action's own run, once seen: the first under its id.
        self._first_runs: dict[str, str] = {}

    @classmethod
    async def connect(
        cls,
        address: str | None = None,
        namespace: str | None = None,
        codec_keys: CodecKeys | str | None = None,
        keys_dir: str | os.PathLike[str] | None = None,
        *,
        agent_key: Callable[[str], Ed25519PrivateKey] | None = None,
        task_queue: str = AIRLOCK_TASK_QUEUE,
        catalog_file: str | os.PathLike[str] | None = None,
        tls: Any = None,
        api_key: str | None = None,
    ) -> AirlockClient:
        """Connects to Temporal with Airlock's data converter.

        What is not given comes from the environment, as the TypeScript client reads it: the Temporal connection
        from ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*`` or a
        ``TEMPORAL_PROFILE`` (the SDK's envconfig); codec keys (a ``CodecKeys`` or the key file's JSON) from
        ``AIRLOCK_CODEC_KEYS`` or ``AIRLOCK_CODEC_KEY_FILE``; the keys directory from ``AIRLOCK_KEYS_DIR``.
        """
        from temporalio.envconfig import ClientConfig

        config: dict[str, Any] = dict(ClientConfig.load_client_connect_config(os.environ.get("TEMPORAL_PROFILE")))
        target = address or config.get("target_host")
        if not target:
            raise ConfigError(
                "TEMPORAL_ADDRESS is not set: say where Temporal is (host:port), pass address=, or name a Temporal "
                "CLI profile with TEMPORAL_PROFILE."
            )
        keys = parse_codec_keys(codec_keys, "codec_keys") if isinstance(codec_keys, str) else codec_keys
        keys = keys or codec_keys_from_env()
        if keys is None:
            raise ConfigError(
                "No payload encryption keys: set AIRLOCK_CODEC_KEY_FILE to a key file "
                '({"current":"k1","keys":{"k1":"<base64 of 32 random bytes>"}}) or AIRLOCK_CODEC_KEYS to its JSON, '
                "or pass codec_keys=. The local stack (`npm start`) creates one in .airlock/codec-keys.json."
            )
        kwargs: dict[str, Any] = {
            "namespace": namespace or config.get("namespace") or "default",
            "data_converter": airlock_data_converter(keys),
        }
        tls_config = tls if tls is not None else config.get("tls")
        if tls_config is not None:
            kwargs["tls"] = tls_config
        key = api_key or config.get("api_key")
        if key:
            kwargs["api_key"] = key
        if config.get("rpc_metadata"):
            kwargs["rpc_metadata"] = config["rpc_metadata"]
        temporal = await Client.connect(target, **kwargs)
        return cls(
            temporal,
            task_queue=task_queue,
            keys_dir=keys_dir if keys_dir is not None else keys_dir_default(),
            agent_key=agent_key,
            catalog_file=catalog_file,
        )

    # -- proposing --------------------------------------------------------------------------------------------------

    async def propose(
        self,
        task: str,
        input: Any,
        agent: str,
        user: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        *,
        key: Ed25519PrivateKey | None = None,
    ) -> Proposal:
        """Proposes an action, signed with the agent's key (``key``, else the client's key for ``agent``).

        Starts its workflow and returns at once; the workflow verifies the signature, validates, asks policy, plans
        and, where needed, waits for approvals. With an idempotency key, a repeat returns the existing action;
        reusing a key for a different proposal raises ``IdempotencyConflictError``.
        """
        request = self._request(task, input, agent, user, reason, dry_run)
        agent_key = key or self._agent_key(agent)
        action_id = action_id_for(agent, idempotency_key, agent_key)
        request_hash = sha256_canonical(request)
        if idempotency_key is not None:
            try:
                found = await (await self._handle(action_id)).describe()
            except RPCError as err:
                if not _not_found(err):
                    raise
            else:
                return await self._same_proposal(action_id, found, request_hash, idempotency_key)
        signed = self.sign_proposal(action_id, request, idempotency_key, agent_key)
        try:
            started = await self.temporal.start_workflow(
                ACTION_WORKFLOW_TYPE,
                signed,
                id=action_id,
                task_queue=self.task_queue,
                # Two concurrent sends of one key meet in one action; a finished action is never started again.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=self._initial_search_attributes(request),
                memo={"requestHash": request_hash},
            )
        except WorkflowAlreadyStartedError:
            found = await (await self._handle(action_id)).describe()
            return await self._same_proposal(action_id, found, request_hash, idempotency_key)
        if idempotency_key is None:
            # A fresh random id nobody could have used before: the run just started is the action's own.
            if started.first_execution_run_id:
                self._remember(action_id, started.first_execution_run_id)
            return Proposal(id=action_id, status="validating", existing=False)
        # With a key, a concurrent proposal may have won the start: make sure it is this one.
        found = await (await self._handle(action_id)).describe()
        same = await self._same_proposal(action_id, found, request_hash, idempotency_key)
        return Proposal(id=same.id, status=same.status, existing=False)

    @staticmethod
    def _request(
        task: str, input: Any, agent: str, user: str | None, reason: str | None, dry_run: bool
    ) -> dict[str, Any]:
        # As the TypeScript CLI and MCP server build it: absent fields left out (so both hash a request alike).
        canonical_json(input)  # refuses, before anything is sent, an input that is not JSON
        request: dict[str, Any] = {"task": task, "input": input, "agent": agent}
        if user is not None:
            request["user"] = user
        if reason is not None:
            request["reason"] = reason
        if dry_run:
            request["dryRun"] = True
        return request

    def sign_proposal(
        self,
        action_id: str,
        request: Mapping[str, Any],
        idempotency_key: str | None,
        key: Ed25519PrivateKey,
    ) -> dict[str, Any]:
        """The signed proposal ``propose`` sends: bound to its action id, the input by its digest, fresh, single use.

        ``request`` holds ``task``, ``input``, ``agent`` and optionally ``user``, ``reason``, ``dryRun``.
        """
        payload: dict[str, Any] = {
            "actionId": action_id,
            "agent": request["agent"],
            "task": request["task"],
            "inputDigest": sha256_canonical(request["input"]),
            "dryRun": request.get("dryRun") is True,
            "time": _iso_now(),
            "nonce": secrets.token_hex(16),
        }
        for name, value in (
            ("user", request.get("user")),
            ("reason", request.get("reason")),
            ("idempotencyKey", idempotency_key),
        ):
            if value is not None:
                payload[name] = value
        return {
            "payload": payload,
            "input": request["input"],
            "signature": sign_payload("airlock.proposal.v1", payload, key),
        }

    @staticmethod
    def _initial_search_attributes(request: Mapping[str, Any]) -> TypedSearchAttributes:
        # Keyword values are short identifiers; an over-long one (an agent's invalid task name) is cut.
        def keyword(value: str) -> str:
            return value[:128]

        return TypedSearchAttributes(
            [
                SearchAttributePair(SA_TASK, keyword(str(request["task"]))),
                SearchAttributePair(SA_STATUS, "validating"),
                SearchAttributePair(SA_AGENT, keyword(str(request["agent"]))),
                SearchAttributePair(SA_REQUESTER, keyword(str(request.get("user") or request["agent"]))),
            ]
        )

    async def _same_proposal(
        self, action_id: str, description: Any, request_hash: str, key: str | None
    ) -> Proposal:
        """The existing action under an idempotency key, if it is the same proposal; else a conflict."""
        try:
            memo = await description.memo()
        except Exception:  # a memo this client cannot decode is no proof of anything
            memo = {}
        if not isinstance(memo, Mapping) or memo.get("requestHash") != request_hash:
            raise IdempotencyConflictError(key if key is not None else "(none)", action_id)
        status = description.typed_search_attributes.get(SA_STATUS) or "validating"
        return Proposal(id=action_id, status=status, existing=True)

    # -- following --------------------------------------------------------------------------------------------------

    async def _handle(self, action_id: str) -> WorkflowHandle[Any, Any]:
        """A handle on the action's own run: the first under its id. Anyone can start another run under a finished
        action's id, and a handle reads the latest run by default; an action's state must not be a stranger's."""
        run_id = self._first_runs.get(action_id)
        if run_id is None:
            first: tuple[datetime, str] | None = None
            query = f"WorkflowId = '{action_id.replace(chr(39), '')}'"
            async for wf in self.temporal.list_workflows(query):
                if first is None or wf.start_time < first[0]:
                    first = (wf.start_time, wf.run_id)
            if first is not None:
                run_id = first[1]
                self._remember(action_id, run_id)
        # Not listed yet (visibility lags a start by milliseconds): then there is only the one run.
        return self.temporal.get_workflow_handle(action_id, run_id=run_id)

    def _remember(self, action_id: str, run_id: str) -> None:
        # A bounded memory: forgetting only costs a visibility query.
        if len(self._first_runs) >= 10_000:
            self._first_runs.clear()
        self._first_runs[action_id] = run_id

    async def get(self, action_id: str, query_timeout: float = 10.0) -> dict[str, Any]:
        """The action's current state (an ``ActionState`` as JSON: see common/types.ts), plans checked against
        their hashes. A running action is asked (a worker must answer within ``query_timeout`` seconds); a
        finished one is read from history."""
        handle = await self._handle(action_id)
        try:
            description = await handle.describe()
            if description.status == WorkflowExecutionStatus.RUNNING:
                state = await handle.query(GET_ACTION_QUERY, rpc_timeout=timedelta(seconds=query_timeout))
            else:
                state = await handle.result()
        except RPCError as err:
            if _not_found(err):
                raise ActionNotFoundError(action_id) from None
            raise
        return checked_state(state)

    async def result(self, action_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Waits for the action's final state; with ``timeout`` (seconds), raises ``ActionTimeoutError`` if it is
        not final by then (the action goes on)."""
        handle = await self._handle(action_id)
        try:
            if timeout is None:
                state = await handle.result()
            else:
                state = await asyncio.wait_for(handle.result(), timeout)
        except asyncio.TimeoutError:
            raise ActionTimeoutError(
                f"Action {visible(action_id)} did not finish within {timeout} s; it goes on. Ask again later."
            ) from None
        except RPCError as err:
            if _not_found(err):
                raise ActionNotFoundError(action_id) from None
            raise
        return checked_state(state)

    #: ``wait`` is ``result``: waits for the final state.
    wait = result

    async def wait_for(
        self,
        action_id: str,
        statuses: Iterable[str],
        timeout: float = 30.0,
        interval: float = 0.1,
    ) -> str:
        """Waits until the action reaches one of ``statuses`` or a final status (polling its status search
        attribute); raises ``ActionTimeoutError`` after ``timeout`` seconds."""
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        handle = await self._handle(action_id)
        while True:
            try:
                description = await handle.describe()
            except RPCError as err:
                if _not_found(err):
                    raise ActionNotFoundError(action_id) from None
                raise
            status = description.typed_search_attributes.get(SA_STATUS) or "validating"
            if status in wanted or is_final_status(status):
                return status
            if time.monotonic() > deadline:
                raise ActionTimeoutError(f"Action {visible(action_id)} is still {visible(status)}; waited {timeout} s.")
            await asyncio.sleep(interval)

    # -- listing ----------------------------------------------------------------------------------------------------

    def list_tasks(self) -> list[Task]:
        """The tasks agents may propose, with their risk and input JSON Schema (see ``airlock_client.catalog``)."""
        if self._catalog is None:
            self._catalog = load_catalog(self._catalog_file)
        return list(self._catalog)

    async def list_actions(
        self,
        status: str | Sequence[str] | None = None,
        task: str | None = None,
        agent: str | None = None,
        risk: str | None = None,
        limit: int = 100,
    ) -> list[ActionSummary]:
        """Actions on this client's task queue, newest first, from their search attributes (no worker needed).

        Filter values are checked, never quoted into the query: a value that is not a name raises ``AirlockError``.
        """

        def name(what: str, value: str) -> str:
            if not _LIST_NAME.match(value):
                raise AirlockError(
                    f'The {what} filter "{visible(value[:60])}" is not a {what} name (letters, digits, . _ - @ :).'
                )
            return f"'{value}'"

        clauses = [f"WorkflowType = '{ACTION_WORKFLOW_TYPE}'", f"TaskQueue = {name('task queue', self.task_queue)}"]
        statuses = [] if status is None else [status] if isinstance(status, str) else list(status)
        for s in statuses:
            if s not in ACTION_STATUSES:
                raise AirlockError(
                    f'"{visible(str(s)[:40])}" is not a status; use one of {", ".join(ACTION_STATUSES)}.'
                )
        if statuses:
            clauses.append(f"{SA_STATUS.name} IN ({', '.join(repr(s) for s in statuses)})")
        if task:
            clauses.append(f"{SA_TASK.name} = {name('task', task)}")
        if agent:
            clauses.append(f"{SA_AGENT.name} = {name('agent', agent)}")
        if risk is not None:
            if risk not in _RISKS:
                raise AirlockError(f'"{visible(str(risk)[:40])}" is not a risk; use one of {", ".join(_RISKS)}.')
            clauses.append(f"{SA_RISK.name} = '{risk}'")
        # Visibility lists newest first by itself.
        query = " AND ".join(clauses)
        out: list[ActionSummary] = []
        async for wf in self.temporal.list_workflows(query, limit=limit):
            attrs = wf.typed_search_attributes
            agent_name = attrs.get(SA_AGENT) or ""
            out.append(
                ActionSummary(
                    id=wf.id,
                    task=attrs.get(SA_TASK) or "",
                    status=attrs.get(SA_STATUS) or "validating",
                    requester=attrs.get(SA_REQUESTER) or agent_name,
                    agent=agent_name,
                    risk=attrs.get(SA_RISK),
                    started_at=wf.start_time,
                )
            )
        return out


def keys_dir_default() -> str:
    """The keys directory of the environment (``AIRLOCK_KEYS_DIR``, else ``~/.airlock/keys``)."""
    return str(keys_dir())

