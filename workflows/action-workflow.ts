import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';
import { ApprovalProcess, checkDecisionShape } from '../common/approval-rules';
import { decideUpdate, getActionQuery } from '../common/messages';
import { provisionalFields } from '../common/proposal';
import { SA_AGENT, SA_APPROVERS, SA_REQUESTER, SA_RISK, SA_STATUS, SA_TASK } from '../common/search-attributes';
import type { ActionStatus } from '../common/statuses';
import type { ActionState, ApprovalAttempt, Plan, SignedProposal } from '../common/types';
import { isUndecodable } from '../common/undecodable';
import { verifyEd25519 } from './verify-ed25519';
import { planMatchesHash } from './plan-hash';

/**
 * An activity result this worker could not decrypt was not produced by an Airlock worker (a stranger completed
 * the task): it is refused, never used.
 */
function decoded<T>(value: T): T {
  if (isUndecodable(value)) throw ApplicationFailure.nonRetryable(`An activity result could not be decrypted (${value.reason}); it was not produced by an Airlock worker.`, 'AIRLOCK_UNDECODABLE');
  return value;
}

/** A plan people will be shown and asked to sign: refused unless it is what its hash says. */
function checkedPlan(plan: Plan, state: ActionState): Plan {
  if (!planMatchesHash(state.task, state.input, plan)) {
    throw ApplicationFailure.nonRetryable('A plan does not match its hash: it was not produced by an Airlock worker. Nobody was asked to sign it.', 'AIRLOCK_PLAN_MISMATCH');
  }
  return plan;
}

// Pure, fast checks run as local activities: no extra round trip through the server, and no stranger can call them.
const local = proxyLocalActivities<AirlockActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });
// The dry run reads the target: retried with backoff, each attempt with a fresh read-only session.
const planning = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
// The audit record must be written: retried until it is (appending is idempotent by action and run).
const auditing = proxyActivities<AirlockActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumInterval: '1 minute' } });
// Execution may be retried safely only because the target receives the action id as its idempotency key.
const executing = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * One proposed action, from proposal to result: admit ▸ plan ▸ [approval] ▸ execute (re-planning first) ▸ audit.
 *
 * Contract:
 * - it must not act on a proposal that is not signed by a registered agent for this very action: such a proposal
 *   ends `invalid`, with an issue code, before policy, and is not audited;
 * - it must not execute unless policy allowed and, where policy asks, the required number of distinct permitted
 *   approvers signed an approval of the exact plan hash before the window closed, and nobody's rejection was
 *   accepted; `executeAction` checks all of it again from history before it mints anything;
 * - it must stop taking decisions before it executes: a decision that arrives then is refused, never ignored;
 * - it must not execute a plan other than the approved one (a changed plan needs new approvals), nor a dry run;
 * - it must record every well-formed signed decision attempt, accepted or refused, with its reason, and refuse
 *   anything else before it reaches history, counting it;
 * - it returns the final {@link ActionState}; it does not throw for outcomes (invalid, denied, failed, ...).
 */
export async function actionWorkflow(proposal: SignedProposal): Promise<ActionState> {
  const info = workflowInfo();
  const now = (): string => new Date().toISOString(); // workflow time: deterministic on replay
  // Until admission verifies the proposal, what it claims is shown bounded and never trusted.
  const claimed = provisionalFields(proposal);
  const state: ActionState = {
    id: info.workflowId,
    runId: info.runId,
    task: claimed.task,
    status: 'validating',
    agent: claimed.agent,
    user: claimed.user,
    requester: claimed.user ?? claimed.agent,
    owners: [],
    reason: claimed.reason,
    dryRun: claimed.dryRun,
    stalePlans: [],
    approvalsRequired: 0,
    approvedBy: [],
    approvals: [],
    refusalsNotKept: 0,
    refusedBeforeHistory: { total: 0, byCode: {} },
    createdAt: now(),
    updatedAt: now(),
    transitions: [{ status: 'validating', at: now() }],
  };
  const approval = new ApprovalProcess(state);

  const setStatus = (status: ActionStatus): void => {
    state.status = status;
    state.updatedAt = now();
    state.transitions.push({ status, at: state.updatedAt });
    upsertSearchAttributes([{ key: SA_STATUS, value: status }]);
  };
  // Whatever search attributes the starter set, the status is this workflow's from its first task.
  upsertSearchAttributes([{ key: SA_STATUS, value: 'validating' }]);

  setHandler(getActionQuery, () => state);
  setHandler(
    decideUpdate,
    async (signed): Promise<ApprovalAttempt> => {
      const shape = checkDecisionShape(signed); // screened by the validator; a replayed history is checked again
      if (!shape.ok) throw ApplicationFailure.nonRetryable(shape.message, shape.code);
      const arrived = approval.arrive(shape.signed, Date.now()); // before any await: judged as the action was now
      if ('refused' in arrived) return arrived.refused;
      const check = decoded(await local.verifyDecision({ signed: shape.signed, task: state.task, risk: state.risk ?? 'critical', requester: state.requester, agent: state.agent }));
      const attempt = approval.receive(shape.signed, check, arrived.arrival);
      if (attempt.accepted) {
        state.updatedAt = now();
        if (attempt.decision === 'approve') upsertSearchAttributes([{ key: SA_APPROVERS, value: [...state.approvedBy] }]);
      }
      return attempt;
    },
    {
      // Before history: junk, oversized, undecodable, unsigned, replayed or capped decisions never reach it.
      validator: (signed) => {
        const verdict = approval.screen(signed, Date.now());
        if (!verdict.accepted) {
          log.warn('decision refused before history', { actionId: state.id, code: verdict.code });
          throw ApplicationFailure.nonRetryable(verdict.message, verdict.code);
        }
      },
    },
  );

  // Whatever ends the action, a cancellation included, it answers every approver in flight and is recorded.
  const finish = (status: ActionStatus, opts: { audit: boolean } = { audit: true }): Promise<ActionState> =>
    CancellationScope.nonCancellable(async () => {
      approval.close();
      setStatus(status);
      // Let in-flight decisions answer before the run closes, so no approver is left without a reply.
      await condition(allHandlersFinished);
      if (!opts.audit) return state;
      // History goes after the namespace's retention; the audit log keeps the record.
      try {
        await auditing.recordAudit({ refusedBeforeHistory: state.refusedBeforeHistory, refusalsNotKept: state.refusalsNotKept });
      } catch (err) {
        const cause = err instanceof ActivityFailure ? err.cause : err;
        state.auditError = cause instanceof Error ? cause.message : String(cause);
      }
      return state;
    });

  try {
    // 1. admit: the agent's signature, this action, fresh, first run; the task and input; policy
    const admission = decoded(await local.admitProposal({ proposal, startedAt: info.startTime.toISOString() }));
    if (admission.agent) Object.assign(state, { agent: admission.agent, user: admission.user, requester: admission.user ?? admission.agent, owners: admission.owners ?? [] });
    if (!admission.ok) {
      state.issues = admission.issues;
      state.error = { type: 'AIRLOCK_INVALID_INPUT', message: admission.message };
      return await finish('invalid', { audit: admission.authentic });
    }
    Object.assign(state, { input: admission.input, risk: admission.risk, description: admission.description, policy: admission.policy, requester: admission.requester });
    upsertSearchAttributes([
      { key: SA_TASK, value: state.task },
      { key: SA_AGENT, value: state.agent },
      { key: SA_REQUESTER, value: state.requester },
      { key: SA_RISK, value: admission.risk },
    ]);
    if (admission.policy.decision === 'deny') {
      state.error = { type: 'AIRLOCK_DENIED', message: admission.policy.explanation };
      return await finish('denied');
    }
    state.approvalsRequired = admission.policy.approvalsRequired;

    // 2. plan (dry run)
    setStatus('planning');
    state.plan = checkedPlan(decoded(await planning.planAction({ proposal })), state);
    if (state.dryRun) return await finish('planned');

    // 3. approval: a window on the plan; quorum or a rejection ends the wait
    if (state.approvalsRequired > 0) {
      approval.configure({ excluded: admission.excluded, windowMs: admission.policy.approvalTimeoutSeconds * 1000, keys: admission.keys ?? {}, verify: verifyEd25519 });
      approval.open(Date.now());
      setStatus('awaiting_approval');
    }
    for (;;) {
      if (state.approvalsRequired > 0) {
        const left = Date.parse(state.expiresAt as string) - Date.now();
        await condition(() => approval.outcome(Date.now()) !== 'waiting', left);
        // No decision is taken from here on; those already taken are judged as they arrived, and obeyed.
        approval.close();
        await condition(allHandlersFinished);
        const outcome = approval.outcome(Date.now());
        if (outcome === 'rejected') {
          const by = approval.rejectedBy as ApprovalAttempt;
          state.error = { type: 'AIRLOCK_REJECTED', message: `Rejected by ${by.approver}: ${by.reason}` };
          return await finish('rejected');
        }
        if (outcome !== 'approved') {
          state.error = {
            type: 'AIRLOCK_EXPIRED',
            message: `No quorum of ${state.approvalsRequired} approval(s) before ${state.expiresAt}; nothing was executed. Propose again if still needed.`,
          };
          return await finish('expired');
        }
      }

      // 4. execute: decisions stop here; the activity re-checks the evidence and re-plans before it acts
      approval.close();
      setStatus('executing');
      // Once execution starts it is seen through: a cancellation now cannot stop a target call already under way, so
      // the action waits for it and says what really happened.
      const planHash = state.approvalsRequired > 0 ? state.plan.hash : undefined;
      const outcome = decoded(await CancellationScope.nonCancellable(() => executing.executeAction({ proposal, planHash })));
      if (outcome.kind === 'executed') {
        state.result = outcome.result;
        return await finish('succeeded');
      }
      // Terraform's "saved plan is stale", for business APIs: the target changed, the new plan needs approving.
      upsertSearchAttributes([{ key: SA_APPROVERS, value: [] }]);
      if (state.approvalsRequired === 0 || !approval.replanned(checkedPlan(outcome.plan, state), Date.now())) {
        state.error = {
          type: 'AIRLOCK_STALE',
          message: `The target changed ${state.stalePlans.length} times between approval and execution; nothing was executed. Propose again once it settles.`,
        };
        return await finish('stale');
      }
      setStatus('awaiting_reapproval');
    }
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
