import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';
import { decideUpdate, getActionQuery } from '../common/messages';
import { SA_APPROVERS, SA_RISK, SA_STATUS } from '../common/search-attributes';
import { DECIDING_STATUSES, type ActionStatus } from '../common/statuses';
import type { ActionRequest, ActionState, ApprovalAttempt, ApprovalRefusalCode, SignedDecision } from '../common/types';

// Pure, fast decisions run as local activities: no extra round trip through the server.
const { validateProposal, decidePolicy, verifyDecision } = proxyLocalActivities<AirlockActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});
// The dry run reads the target: retried with backoff, each attempt with a fresh read-only session.
const { planAction } = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
// The audit record must be written: retried until it is (appending is idempotent by action id).
const { recordAudit } = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});
// Execution may be retried safely only because the target receives the action id as its idempotency key.
const { executeAction } = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** How far a signature's time may be from the workflow's clock. */
export const SIGNATURE_FRESHNESS_MS = 5 * 60 * 1000;
/** How many times an approved plan may go stale before the action gives up (ends `stale`). */
export const MAX_STALE_PLANS = 3;

/**
 * One proposed action, from proposal to result: validate ▸ policy ▸ plan ▸ [approval ▸ re-plan] ▸ execute.
 *
 * Contract:
 * - it must not execute anything unless validation passed, policy allowed, and (where policy asks) the required
 *   number of distinct permitted approvers signed an approval of the exact plan hash before the window closed;
 * - it must not execute a plan other than the approved one: just before execution it plans again, and a changed
 *   hash makes the action `stale` and asks for new approvals;
 * - it must not execute a dry-run proposal;
 * - it must record every decision attempt, accepted or refused, with its reason;
 * - it returns the final {@link ActionState}; it does not throw for outcomes (invalid, denied, failed, ...).
 */
export async function actionWorkflow(request: ActionRequest): Promise<ActionState> {
  const info = workflowInfo();
  const now = (): string => new Date().toISOString(); // workflow time: deterministic on replay
  const requester = request.user ?? request.agent;
  const state: ActionState = {
    id: info.workflowId,
    runId: info.runId,
    task: request.task,
    status: 'validating',
    agent: request.agent,
    user: request.user,
    requester,
    reason: request.reason,
    dryRun: request.dryRun === true,
    stalePlans: [],
    approvalsRequired: 0,
    approvedBy: [],
    approvals: [],
    createdAt: now(),
    updatedAt: now(),
    transitions: [{ status: 'validating', at: now() }],
  };
  let rejected = false;
  const usedNonces = new Set<string>();

  const setStatus = (status: ActionStatus): void => {
    state.status = status;
    state.updatedAt = now();
    state.transitions.push({ status, at: state.updatedAt });
    upsertSearchAttributes([{ key: SA_STATUS, value: status }]);
  };

  setHandler(getActionQuery, () => state);
  setHandler(decideUpdate, async (signed: SignedDecision): Promise<ApprovalAttempt> => {
    const p = (signed?.payload ?? {}) as Partial<SignedDecision['payload']>;
    const attempt: ApprovalAttempt = {
      approver: String(p.approver ?? ''),
      decision: p.decision as ApprovalAttempt['decision'],
      reason: typeof p.reason === 'string' ? p.reason : undefined,
      planHash: String(p.planHash ?? ''),
      nonce: String(p.nonce ?? ''),
      signedAt: String(p.time ?? ''),
      signature: String(signed?.signature ?? ''),
      at: now(),
      accepted: false,
    };
    const refuse = (code: ApprovalRefusalCode, message: string): ApprovalAttempt => {
      attempt.refusal = { code, message };
      state.approvals.push(attempt);
      return attempt;
    };
    const closedBecause = (): [ApprovalRefusalCode, string] | undefined => {
      if (!DECIDING_STATUSES.includes(state.status)) {
        return ['not_awaiting_approval', `Action ${state.id} is ${state.status}, not awaiting approval; the decision changes nothing.`];
      }
      if (state.expiresAt && Date.now() >= Date.parse(state.expiresAt)) {
        return ['expired', `The approval window of action ${state.id} closed at ${state.expiresAt}; ask the agent to propose again.`];
      }
      return undefined;
    };

    const closed = closedBecause();
    if (closed) return refuse(...closed);
    if ((p.decision !== 'approve' && p.decision !== 'reject') || !p.nonce || !p.time || !p.actionId || !p.runId) {
      return refuse('malformed', 'A decision must name approve or reject, the action, its run, a time and a nonce; sign it with `airlock approve`.');
    }
    // Nothing in the payload is believed before its signature is.
    const check = await verifyDecision({ signed, task: state.task, risk: state.risk ?? 'critical', requester, agent: state.agent });
    if (!check.signatureValid) return refuse(check.code, check.message);
    attempt.policyIds = check.policyIds;
    if (p.actionId !== state.id || p.runId !== state.runId) {
      return refuse('wrong_action', `This decision was signed for action ${p.actionId} (run ${p.runId}), not for ${state.id} (run ${state.runId}).`);
    }
    if (usedNonces.has(p.nonce)) return refuse('replayed_nonce', 'This signed decision was already delivered once; sign a new one.');
    usedNonces.add(p.nonce);
    if (Math.abs(Date.parse(p.time) - Date.now()) > SIGNATURE_FRESHNESS_MS) {
      return refuse('stale_signature', `The decision was signed at ${p.time}, more than 5 minutes from now (${now()}); sign it again (and check your clock).`);
    }
    if (attempt.approver === state.user || attempt.approver === state.agent) {
      return refuse('self_approval', `${attempt.approver} requested this action and cannot decide on it; another approver must.`);
    }
    if (attempt.planHash !== state.plan?.hash) {
      return refuse(
        'wrong_plan_hash',
        `The decision names plan ${attempt.planHash.slice(0, 12) || '(none)'}, but the plan awaiting approval is ` +
          `${state.plan?.hash.slice(0, 12)}. Review the current plan (airlock show ${state.id}) and decide on that.`,
      );
    }
    if (attempt.decision === 'reject' && !attempt.reason?.trim()) {
      return refuse('missing_reason', 'A rejection needs a reason, so the agent and its user learn what to change.');
    }
    if (!check.permitted) {
      return refuse(
        'not_permitted',
        `Policy does not permit ${attempt.approver} to approve ${state.task}` +
          (state.policy?.eligibleApprovers.length ? `; ask one of: ${state.policy.eligibleApprovers.join(', ')}.` : '.'),
      );
    }
    // The checks awaited: the action may have moved on meanwhile.
    const closedNow = closedBecause();
    if (closedNow) return refuse(...closedNow);
    if (attempt.decision === 'approve' && state.approvedBy.includes(attempt.approver)) {
      return refuse(
        'duplicate_approver',
        `${attempt.approver} has already approved; ${state.approvalsRequired - state.approvedBy.length} more distinct approver(s) needed.`,
      );
    }
    attempt.accepted = true;
    state.approvals.push(attempt);
    if (attempt.decision === 'approve') {
      state.approvedBy.push(attempt.approver);
      upsertSearchAttributes([{ key: SA_APPROVERS, value: [...state.approvedBy] }]);
    } else {
      rejected = true;
    }
    state.updatedAt = now();
    return attempt;
  });

  const finish = async (status: ActionStatus): Promise<ActionState> => {
    setStatus(status);
    // Let in-flight decisions answer before the run closes, so no approver is left without a reply.
    await condition(allHandlersFinished);
    // History goes after the namespace's retention; the audit log keeps the record. Even a cancelled action is recorded.
    await CancellationScope.nonCancellable(() => recordAudit(state));
    return state;
  };

  try {
    // 1. validate
    const validation = await validateProposal(request);
    if (!validation.ok) {
      state.issues = validation.issues;
      state.error = { type: 'AIRLOCK_INVALID_INPUT', message: validation.message };
      return await finish('invalid');
    }
    state.input = validation.input;
    state.risk = validation.risk;
    state.description = validation.description;
    upsertSearchAttributes([{ key: SA_RISK, value: validation.risk }]);

    // 2. policy
    const decision = await decidePolicy({
      agent: request.agent,
      user: request.user,
      task: request.task,
      risk: validation.risk,
      target: validation.target,
    });
    state.policy = decision;
    if (decision.decision === 'deny') {
      state.error = { type: 'AIRLOCK_DENIED', message: decision.explanation };
      return await finish('denied');
    }
    state.approvalsRequired = decision.approvalsRequired;

    // 3. plan (dry run)
    setStatus('planning');
    const ref = { actionId: state.id, task: state.task, input: state.input, requester };
    const executeRef = { ...ref, sessionSeconds: decision.sessionSeconds };
    state.plan = await planAction(ref);
    if (state.dryRun) return await finish('planned');

    // 4. approval, and a fresh plan that must match the approved one
    if (state.approvalsRequired > 0) {
      const timeoutMs = decision.approvalTimeoutSeconds * 1000;
      setStatus('awaiting_approval');
      for (;;) {
        state.expiresAt = new Date(Date.now() + timeoutMs).toISOString();
        const decided = await condition(() => rejected || state.approvedBy.length >= state.approvalsRequired, timeoutMs);
        if (rejected) {
          const by = state.approvals.find((a) => a.accepted && a.decision === 'reject');
          state.error = { type: 'AIRLOCK_REJECTED', message: `Rejected by ${by?.approver}: ${by?.reason}` };
          return await finish('rejected');
        }
        if (!decided) {
          state.error = {
            type: 'AIRLOCK_EXPIRED',
            message: `No quorum of ${state.approvalsRequired} approval(s) before ${state.expiresAt}; nothing was executed. Propose again if still needed.`,
          };
          return await finish('expired');
        }
        // Terraform's "saved plan is stale", for business APIs: what was approved must be what runs.
        const fresh = await planAction(ref);
        if (fresh.hash === state.plan.hash) break;
        state.stalePlans.push(state.plan);
        state.plan = fresh;
        state.approvedBy = [];
        upsertSearchAttributes([{ key: SA_APPROVERS, value: [] }]);
        if (state.stalePlans.length >= MAX_STALE_PLANS) {
          state.error = {
            type: 'AIRLOCK_STALE',
            message: `The target changed ${state.stalePlans.length} times between approval and execution; nothing was executed. Propose again once it settles.`,
          };
          return await finish('stale');
        }
        setStatus('stale'); // awaiting approval of the new plan
      }
    }

    // 5. execute
    setStatus('executing');
    state.result = await executeAction(executeRef);
    return await finish('succeeded');
  } catch (err) {
    if (isCancellation(err)) {
      state.error = { type: 'AIRLOCK_CANCELLED', message: 'The action was cancelled before it finished.' };
      return await finish('cancelled');
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    state.error = {
      type: cause instanceof ApplicationFailure && cause.type ? cause.type : 'AIRLOCK_INTERNAL',
      message: cause instanceof Error ? cause.message : String(cause),
    };
    return await finish('failed');
  }
}
