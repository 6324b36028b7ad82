import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import { ACTION_MEMO_PATCH, ADMIT_AND_EXECUTE_PATCH, TWO_TASK_STEPS } from '../common/action-steps';
import { SA_AGENT, SA_REQUESTER, SA_RISK, SA_TASK } from '../common/search-attributes';
import type { ActionStatus } from '../common/statuses';
import type { ActionState, SignedProposal } from '../common/types';
import { ActionRecord } from './action-record';
import { admitting, auditing, auditingHere, executing, planning, planningRemotely } from './activity-stubs';
import { DecisionHandler } from './decision-handler';
import { checkedPlan, decoded, forThisRun } from './evidence-guards';
import { verifyEd25519 } from './verify-ed25519';

/**
 * How the audit record is written: `written` already, by the first step that carried the action out; `here`, as a
 * local activity in the workflow task that ends the action, when history already holds everything the record says
 * (the end came from `executeAction`'s result); otherwise by a regular activity, once the last decision or
 * cancellation that ended the action is in history; `none` for a proposal that did not even verify.
 */
type AuditWay = 'written' | 'here' | 'after' | 'none';

/**
 * One proposed action, from proposal to result: admit ▸ plan ▸ [approval] ▸ execute (re-planning first) ▸ audit.
 * An action that needs no approval is admitted, planned, executed and audited by one activity, `admitAndExecute`:
 * two workflow tasks and one activity, as a bare one-activity workflow. One that does gets its plan from that
 * activity and waits for its approvers; `executeAction` carries it out, and its audit record is written in the task
 * that sees it executed.
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
 *   anything else before it reaches history, counting it (see {@link DecisionHandler});
 * - it returns the final {@link ActionState}; it does not throw for outcomes (invalid, denied, failed, ...).
 */
export async function actionWorkflow(proposal: SignedProposal): Promise<ActionState> {
  const action = new ActionRecord(proposal);
  const decisions = new DecisionHandler(action);
  const { state } = action;
  // Runs admitted since two-task actions make the plan in admission (or a local activity), write the audit record in
  // the last task where they can, and send search attributes once per task. A run admitted by an earlier version,
  // say one waiting for approval across a deploy, keeps to its own commands, or its history would not replay: its
  // admission, read back from history, does not carry the word.
  let twoTasks = false;
  const end = (status: ActionStatus, audit: AuditWay = 'after') =>
    finish(action, decisions, status, audit === 'here' && !twoTasks ? 'after' : audit);

  try {
    // 1. admit: the agent's signature, this action, fresh, first run; the task and input; policy. Where policy needs
    // no approval, the same activity plans and executes: once it starts, it is seen through (a cancellation cannot
    // stop a target call already under way). Runs begun by an earlier version admitted in a local activity.
    const admission = patched(ADMIT_AND_EXECUTE_PATCH)
      ? forThisRun(decoded(await CancellationScope.nonCancellable(() => executing.admitAndExecute({ proposal }))))
      : decoded(await admitting.admitProposal({ proposal }));
    twoTasks = admission.steps === TWO_TASK_STEPS;
    if (twoTasks) action.batchFromNow();
    if (admission.agent)
      Object.assign(state, {
        agent: admission.agent,
        user: admission.user,
        requester: admission.user ?? admission.agent,
        owners: admission.owners ?? [],
      });
    if (!admission.ok) {
      state.issues = admission.issues;
      action.fail('AIRLOCK_INVALID_INPUT', admission.message);
      return await end('invalid', admission.authentic ? 'after' : 'none');
    }
    Object.assign(state, {
      input: admission.input,
      risk: admission.risk,
      description: admission.description,
      policy: admission.policy,
      requester: admission.requester,
    });
    action.index(
      { key: SA_TASK, value: state.task },
      { key: SA_AGENT, value: state.agent },
      { key: SA_REQUESTER, value: state.requester },
      { key: SA_RISK, value: admission.risk },
    );
    if (admission.policy.decision === 'deny') {
      action.fail('AIRLOCK_DENIED', admission.policy.explanation);
      return await end('denied');
    }
    state.approvalsRequired = admission.policy.approvalsRequired;
    if (twoTasks && state.approvalsRequired > 0 && patched(ACTION_MEMO_PATCH)) action.memoFromNow();
    if (admission.executed) {
      state.plan = checkedPlan(admission.plan as NonNullable<typeof admission.plan>, state);
      state.result = admission.executed;
      return await end('succeeded', admission.audited ? 'written' : 'here');
    }

    // 2. plan (dry run): made by admission, else now; in this same workflow task either way
    action.setStatus('planning');
    state.plan = checkedPlan(
      admission.plan ?? decoded(await (twoTasks ? planning : planningRemotely).planAction({ proposal })),
      state,
    );
    if (state.dryRun) return await end('planned');

    // 3. approval: a window on the plan; quorum or a rejection ends the wait
    const needsApproval = state.approvalsRequired > 0;
    if (needsApproval)
      // Runs admitted before admission said whether the worker tells anyone did tell (their histories say so).
      decisions.open(admission.notifies !== false, {
        excluded: admission.excluded,
        windowMs: admission.policy.approvalTimeoutSeconds * 1000,
        keys: admission.keys ?? {},
        passkeys: admission.passkeys ?? {},
        verify: verifyEd25519,
      });
    for (;;) {
      if (needsApproval) {
        const outcome = await decisions.outcome();
        if (outcome !== 'approved') return await end(outcome);
      }

      // 4. execute: decisions stop here; the activity re-checks the evidence and re-plans before it acts. Once it
      // starts it is seen through: a cancellation cannot stop a target call already under way, so the action waits
      // for it and says what really happened.
      decisions.stop();
      action.setStatus('executing');
      action.publish();
      const planHash = needsApproval ? state.plan.hash : undefined;
      const outcome = decoded(
        await CancellationScope.nonCancellable(() => executing.executeAction({ proposal, planHash })),
      );
      if (outcome.kind === 'executed') {
        state.result = outcome.result;
        return await end('succeeded', 'here');
      }
      // Terraform's "saved plan is stale", for business APIs: the target changed, the new plan needs approving, by
      // as many as policy asks of it (a task whose rules read its plan may ask more, or fewer, than before).
      if (outcome.approvalsRequired !== undefined && outcome.approvalsRequired > 0) {
        state.approvalsRequired = outcome.approvalsRequired;
        if (outcome.policy) state.policy = outcome.policy;
      }
      if (!decisions.replanned(() => checkedPlan(outcome.plan, state))) {
        action.fail(
          'AIRLOCK_STALE',
          `The target changed ${state.stalePlans.length} times between approval and execution; nothing was executed. Propose again once it settles.`,
        );
        return await end('stale', 'here');
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      action.fail('AIRLOCK_CANCELLED', 'The action was cancelled before it finished.');
      return await end('cancelled');
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    action.fail(
      cause instanceof ApplicationFailure && cause.type ? cause.type : 'AIRLOCK_INTERNAL',
      cause instanceof Error ? cause.message : String(cause),
    );
    return await end('failed');
  }
}

/**
 * Ends the action, whatever ends it (a cancellation included): no more decisions, every approver in flight answered,
 * the final status set, and the audit record written (history goes after the namespace's retention; the audit log
 * keeps the record).
 */
function finish(
  action: ActionRecord,
  decisions: DecisionHandler,
  status: ActionStatus,
  audit: AuditWay,
): Promise<ActionState> {
  const { state } = action;
  return CancellationScope.nonCancellable(async () => {
    decisions.stop();
    action.setStatus(status);
    action.publish();
    await decisions.close();
    if (audit === 'none' || audit === 'written') return state;
    try {
      const args = {
        status,
        refusedBeforeHistory: state.refusedBeforeHistory,
        refusalsNotKept: state.refusalsNotKept,
      };
      // Should writing it here fail, the regular activity retries until it is written.
      if (audit === 'here') await auditingHere.recordAudit(args).catch(() => auditing.recordAudit(args));
      else await auditing.recordAudit(args);
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      state.auditError = cause instanceof Error ? cause.message : String(cause);
    }
    await decisions.notifyOutcome();
    return state;
  });
}
