import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import {
  ActionNotFoundError,
  DecisionError,
  IdempotencyConflictError,
  LateDecisionError,
  PlanIntegrityError,
} from '../common/errors';
import { planHashBody } from '../common/plan-hash';
import type { actionWorkflow, lateDecisionWorkflow } from '../workflows';
import { decideUpdate, getActionQuery } from '../common/messages';
import { initialSearchAttributes, SA_STATUS } from '../common/search-attributes';
import { isFinalStatus, type ActionStatus } from '../common/statuses';
import {
  ACTION_WORKFLOW_TYPE,
  AIRLOCK_TASK_QUEUE,
  LATE_DECISION_WORKFLOW_TYPE,
  lateDecisionWorkflowId,
} from '../common/task-queue';
import { checkDecisionShape } from '../common/approval-rules';
import { canonicalPersonId } from '../common/identifiers';
import { listActions, type ActionFilter, type ActionPage, type ActionSummary } from './action-list';
import { APPROVAL_REFUSAL_CODES } from '../common/types';
import type {
  ActionRequest,
  ActionState,
  ApprovalAttempt,
  ApprovalRefusalCode,
  DecisionPayload,
  ProposalPayload,
  SignedDecision,
  SignedProposal,
} from '../common/types';
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { loadSigningKey, signPayload } from '../crypto/signing-keys';
import { sha256Canonical } from '../crypto/sha256';
import { connectClient } from '../config/temporal-connection';
import { actionIdFor } from './action-id';
import { proposalSummary } from '../workflows/action-details';
import { clientTelemetry, tracedClient } from '../telemetry/client-tracing';

/** A proposal, as an agent backend sends it. */
export interface ProposeOptions extends ActionRequest {
  /** Same key (for the same agent) = same action, never a second one. */
  idempotencyKey?: string;
  /** The agent's private key, which signs the proposal; by default the client's `agentKey(agent)`. */
  key?: KeyObject;
}

/** How a client is set up. */
export interface AirlockClientOptions {
  taskQueue?: string;
  /** The private key of an agent, to sign its proposals; by default `<agent>.key` in the keys directory. */
  agentKey?: (agent: string) => KeyObject;
  /** How long a decision on a finished action waits for the workers to record it (15 s by default). */
  lateTimeoutMs?: number;
}

/** What `propose` returns. */
export interface Proposal {
  id: string;
  status: ActionStatus;
  /** True when an earlier proposal with the same idempotency key was found instead of starting a new one. */
  existing: boolean;
}

/**
 * An action's state, refused unless every plan in it is what its hash says (for its task and input). Airlock's
 * workflow never shows anything else; a Temporal that does (a server of someone else's, a stranger's workflow) would
 * have a person review one plan and sign another.
 */
export function checkedState(state: ActionState): ActionState {
  for (const plan of [state.plan, ...(state.stalePlans ?? [])]) {
    if (plan && sha256Canonical(planHashBody(state.task, state.input, plan)) !== plan.hash)
      throw new PlanIntegrityError(state.id);
  }
  return state;
}

/** Refusal codes the decision validator answers with (see `ApprovalRefusalCode`). */
const REFUSAL_CODES = new Set<string>(APPROVAL_REFUSAL_CODES);

/**
 * Airlock for agent backends and tools: propose actions, follow them, decide on them.
 * One action = one workflow; the action id is the workflow id.
 */
export class AirlockClient {
  private readonly taskQueue: string;
  private readonly agentKey: (agent: string) => KeyObject;
  private readonly lateTimeoutMs: number;
  /** Each action's own run, once seen: the first under its id. */
  private readonly firstRuns = new Map<string, string>();

  /** The task queue this client's actions run on. */
  get queue(): string {
    return this.taskQueue;
  }

  constructor(
    readonly temporal: Client,
    opts: AirlockClientOptions = {},
  ) {
    this.taskQueue = opts.taskQueue ?? AIRLOCK_TASK_QUEUE;
    this.agentKey = opts.agentKey ?? ((agent) => loadSigningKey(agent));
    this.lateTimeoutMs = opts.lateTimeoutMs ?? 15_000;
  }

  /** Connects using the environment (see README); the local stack by default. */
  static async connect(opts: AirlockClientOptions = {}): Promise<AirlockClient> {
    // Proposals and decisions traced when the OTEL_* variables ask for it (see telemetry/client-tracing.ts).
    return new AirlockClient(tracedClient(await connectClient(), clientTelemetry()), opts);
  }

  /**
   * Proposes an action, signed with the agent's key. Starts its workflow and returns at once; the workflow verifies
   * the signature, validates, asks policy, plans and, where needed, waits for approvals. With an idempotency key, a
   * repeat returns the existing action; reusing a key for a different proposal throws
   * {@link IdempotencyConflictError}.
   */
  async propose(opts: ProposeOptions): Promise<Proposal> {
    const { idempotencyKey, key, ...request } = opts;
    const agentKey = key ?? this.agentKey(request.agent);
    const id = actionIdFor(request.agent, idempotencyKey, agentKey);
    const requestHash = sha256Canonical(request);
    if (idempotencyKey !== undefined) {
      const found = await (await this.handle(id)).describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
      if (found) return this.sameProposal(found, requestHash, idempotencyKey);
    }
    let started;
    try {
      started = await this.temporal.workflow.start<typeof actionWorkflow>(ACTION_WORKFLOW_TYPE, {
        workflowId: id,
        taskQueue: this.taskQueue,
        args: [this.sign(id, request, idempotencyKey, agentKey)],
        // Two concurrent sends of one key meet in one action; a finished action is never started again.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: initialSearchAttributes(request),
        memo: { requestHash },
        // The Web UI's workflow list line (encrypted like the memo); the workflow keeps the details current.
        staticSummary: proposalSummary(request),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return this.sameProposal(await (await this.handle(id)).describe(), requestHash, idempotencyKey);
    }
    if (idempotencyKey === undefined) {
      // A fresh random id nobody could have used before: the run just started is its first (and a later one, started
      // by someone else once it closed, is not the action's), so nobody need be asked which run it is.
      this.remember(id, started.firstExecutionRunId);
      return { id, status: 'validating', existing: false };
    }
    // With a key, a concurrent proposal may have won the start: make sure it is this one.
    return {
      ...(await this.sameProposal(await (await this.handle(id)).describe(), requestHash, idempotencyKey)),
      existing: false,
    };
  }

  /**
   * A handle on the action's own run: the first run under its id. Anyone can start another run under a finished
   * action's id, and by default a handle reads the latest run; an action's state must not be taken from a stranger's.
   */
  private async handle(id: string) {
    let runId = this.firstRuns.get(id);
    if (!runId) {
      let first: { runId: string; at: number } | undefined;
      for await (const wf of this.temporal.workflow.list({ query: `WorkflowId = '${id.replace(/'/g, '')}'` })) {
        if (!first || wf.startTime.getTime() < first.at) first = { runId: wf.runId, at: wf.startTime.getTime() };
      }
      runId = first?.runId;
      if (runId) this.remember(id, runId);
    }
    // Not listed yet (visibility lags a start by milliseconds): then there is only the one run.
    return this.temporal.workflow.getHandle<typeof actionWorkflow>(id, runId);
  }

  /** Notes an action's first run (a bounded memory: forgetting only costs a visibility query). */
  private remember(id: string, runId: string): void {
    if (this.firstRuns.size >= 10_000) this.firstRuns.clear();
    this.firstRuns.set(id, runId);
  }

  /** The signed proposal: bound to its action id, the input by its digest, fresh and single use. */
  private sign(
    actionId: string,
    request: ActionRequest,
    idempotencyKey: string | undefined,
    key: KeyObject,
  ): SignedProposal {
    const payload: ProposalPayload = {
      actionId,
      agent: request.agent,
      user: request.user,
      task: request.task,
      inputDigest: sha256Canonical(request.input),
      reason: request.reason,
      dryRun: request.dryRun === true,
      idempotencyKey,
      time: new Date().toISOString(),
      nonce: randomBytes(16).toString('hex'),
    };
    return { payload, input: request.input, signature: signPayload('airlock.proposal.v1', payload, key) };
  }

  /** The existing action under an idempotency key, if it is the same proposal; else a conflict. */
  private sameProposal(
    description: WorkflowExecutionDescription,
    requestHash: string,
    key: string | undefined,
  ): Proposal {
    const memo = (description.memo ?? {}) as { requestHash?: string };
    if (memo.requestHash !== requestHash) throw new IdempotencyConflictError(key ?? '(none)', description.workflowId);
    const status = (description.typedSearchAttributes.get(SA_STATUS) as ActionStatus | undefined) ?? 'validating';
    return { id: description.workflowId, status, existing: true };
  }

  /**
   * The action's current state. A running action is asked (a worker must answer within `queryTimeoutMs`, 10 s by
   * default); a finished one is read from history.
   */
  async get(id: string, opts: { queryTimeoutMs?: number } = {}): Promise<ActionState> {
    const handle = await this.handle(id);
    try {
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') {
        return checkedState(
          await this.temporal.withDeadline(Date.now() + (opts.queryTimeoutMs ?? 10_000), () =>
            handle.query(getActionQuery),
          ),
        );
      }
      return checkedState(await handle.result());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ActionNotFoundError(id);
      throw err;
    }
  }

  /** Waits for the action's final state; with a timeout, throws if it is not final by then. */
  async result(id: string, opts: { timeoutMs?: number } = {}): Promise<ActionState> {
    const handle = await this.handle(id);
    const wait = handle.result().then(checkedState);
    try {
      if (opts.timeoutMs === undefined) return await wait;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`Action ${id} did not finish within ${opts.timeoutMs} ms; it goes on. Ask again later.`)),
          opts.timeoutMs,
        );
      });
      try {
        return await Promise.race([wait, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ActionNotFoundError(id);
      throw err;
    }
  }

  /** Waits until the action reaches one of `statuses` (or a final status); polls the status search attribute. */
  async waitFor(
    id: string,
    statuses: readonly ActionStatus[],
    opts: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<ActionStatus> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const handle = await this.handle(id);
    for (;;) {
      const d = await handle.describe();
      const status = d.typedSearchAttributes.get(SA_STATUS) as ActionStatus;
      if (statuses.includes(status) || isFinalStatus(status)) return status;
      if (Date.now() > deadline)
        throw new Error(`Action ${id} is still ${status}; waited ${opts.timeoutMs ?? 30_000} ms.`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  /**
   * One page of actions, newest first, from their search attributes (no worker needed): filtered by status, task,
   * agent and start time. Pass the returned `nextPageToken` to get the next page.
   */
  listPage(filter: ActionFilter = {}, page: { pageSize?: number; pageToken?: string } = {}): Promise<ActionPage> {
    return listActions(this.temporal, this.taskQueue, filter, page);
  }

  /** Actions, newest first, at most `limit` (100 by default) of them. */
  async list(filter: ActionFilter & { limit?: number } = {}): Promise<ActionSummary[]> {
    const { limit = 100, ...rest } = filter;
    const out: ActionSummary[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.listPage(rest, { pageSize: Math.min(limit - out.length, 1000), pageToken });
      out.push(...page.actions);
      pageToken = page.nextPageToken;
    } while (pageToken && out.length < limit);
    return out.slice(0, limit);
  }

  /**
   * Signs and sends an approver's decision on the action's current plan (or on `planHash`, the one they reviewed).
   * Resolves with the recorded attempt, accepted or refused (`refusal.code` names the rule).
   * Throws {@link LateDecisionError} if the action has finished: the decision changes nothing, and the workers record
   * it in the audit log as a late decision (see {@link decide}).
   */
  async decideAs(
    id: string,
    opts: { approver: string; key: KeyObject; decision: 'approve' | 'reject'; reason?: string; planHash?: string },
  ): Promise<ApprovalAttempt> {
    // describe() needs no worker: a decision on a known plan hash can be sent while workers are down.
    const description = await (await this.handle(id)).describe().catch((err: unknown) => {
      throw err instanceof WorkflowNotFoundError ? new ActionNotFoundError(id) : err;
    });
    if (description.status.name !== 'RUNNING') {
      const final = await this.get(id);
      // Signed on the plan the approver reviewed, as it would have been: the workers record it for what it says.
      const planHash = opts.planHash ?? final.plan?.hash;
      if (!planHash)
        throw new DecisionError(
          `Action ${id} has finished (${final.status}) with no plan; a decision changes nothing.`,
        );
      return this.lateDecision(id, final.status, signedDecision(opts, id, description.runId, planHash));
    }
    let planHash = opts.planHash;
    if (!planHash) {
      const state = await this.get(id);
      if (!state.plan)
        throw new DecisionError(`Action ${id} has no plan yet (${state.status}); try again in a moment.`);
      planHash = state.plan.hash;
    }
    return this.decide(id, signedDecision(opts, id, description.runId, planHash));
  }

  /**
   * Sends an already signed decision (see {@link decideAs}); the workflow verifies and records it. A decision the
   * workflow refused before history (malformed, unsigned, replayed, ...) comes back refused with `recorded: false`.
   * A decision on an action that has finished throws {@link LateDecisionError}, once the workers have recorded it in
   * the audit log (or refused to: one not genuinely signed, or sent before) or have not answered within
   * `lateTimeoutMs` (15 s by default).
   */
  async decide(id: string, signed: SignedDecision): Promise<ApprovalAttempt> {
    const handle = await this.handle(id);
    try {
      return await handle.executeUpdate(decideUpdate, { args: [signed] });
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type && REFUSAL_CODES.has(cause.type)) {
        const p = (signed?.payload ?? {}) as Partial<DecisionPayload>;
        return {
          approver: String(p.approver ?? ''),
          decision: p.decision === 'reject' ? 'reject' : 'approve',
          reason: typeof p.reason === 'string' ? p.reason : undefined,
          planHash: String(p.planHash ?? ''),
          nonce: String(p.nonce ?? ''),
          signedAt: String(p.time ?? ''),
          signature: String(signed?.signature ?? ''),
          at: new Date().toISOString(),
          accepted: false,
          refusal: { code: cause.type as ApprovalRefusalCode, message: cause.message },
          recorded: false,
        };
      }
      if (err instanceof WorkflowNotFoundError) {
        const state = await this.get(id).catch(() => undefined);
        if (state) return this.lateDecision(id, state.status, signed);
        throw new ActionNotFoundError(id);
      }
      if (err instanceof WorkflowUpdateFailedError)
        throw new DecisionError(`The decision failed: ${err.cause?.message ?? err.message}`);
      throw err;
    }
  }

  /**
   * A decision on an action that has ended: handed to the workers (a client never writes the audit log), who record
   * it if it is genuine, once per approver. Throws, saying how the action ended and what became of the decision.
   */
  private async lateDecision(id: string, status: string, signed: SignedDecision): Promise<never> {
    const ended = `Action ${id} has finished (${status}); a decision changes nothing.`;
    const shape = checkDecisionShape(signed);
    if (!shape.ok) throw new LateDecisionError(`${ended} It was not recorded: ${shape.message}`);
    const { payload, signature } = shape.signed;
    const workflowId = lateDecisionWorkflowId(
      id,
      canonicalPersonId(payload.approver),
      createHash('sha256').update(signature).digest('hex'),
    );
    const options = {
      workflowId,
      taskQueue: this.taskQueue,
      args: [signed] as [SignedDecision],
      // The same decision sent again (a retry, a flood) meets the one run; only a run that failed is tried anew.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    };
    let handle;
    try {
      handle = await this.temporal.workflow.start<typeof lateDecisionWorkflow>(LATE_DECISION_WORKFLOW_TYPE, options);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = this.temporal.workflow.getHandle<typeof lateDecisionWorkflow>(workflowId);
    }
    // Waited for a while, not for ever: the poll is abandoned, not left running, when the time is up.
    const outcome = await this.temporal
      .withAbortSignal(AbortSignal.timeout(this.lateTimeoutMs), () => handle.result())
      .catch((err: unknown) => {
        if (err instanceof WorkflowFailedError)
          throw new LateDecisionError(
            `${ended} The workers could not record it in the audit log (${err.cause?.message ?? err.message}); send it again later.`,
          );
        return undefined;
      });
    if (!outcome)
      throw new LateDecisionError(
        `${ended} It was handed to the workers to record in the audit log (workflow ${workflowId}), who have not confirmed it yet; \`airlock audit verify\` and the log show it once they have.`,
      );
    const how = outcome.status && outcome.status !== status ? ` (it ended ${outcome.status})` : '';
    if (!outcome.recorded)
      throw new LateDecisionError(
        `${ended}${how} It was not recorded: ${outcome.refusal?.message ?? 'the workers refused it.'}`,
        outcome,
      );
    throw new LateDecisionError(
      outcome.earlier
        ? `${ended}${how} The audit log already holds the decision you sent after it ended (record ${outcome.seq}); this one was not recorded again.`
        : `${ended}${how} Your decision was recorded in the audit log as a late decision (record ${outcome.seq}).`,
      outcome,
    );
  }
}

/** A decision on `planHash` of the run, signed with the approver's key (a new nonce each time). */
function signedDecision(
  opts: { approver: string; key: KeyObject; decision: 'approve' | 'reject'; reason?: string },
  actionId: string,
  runId: string,
  planHash: string,
): { payload: DecisionPayload; signature: string } {
  const payload: DecisionPayload = {
    approver: opts.approver,
    actionId,
    runId,
    planHash,
    decision: opts.decision,
    reason: opts.reason,
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString('hex'),
  };
  return { payload, signature: signPayload('airlock.decision.v1', payload, opts.key) };
}
