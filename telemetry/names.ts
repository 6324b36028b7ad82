import { ApplicationFailure } from '@temporalio/common';

/**
 * Names of Airlock's spans, span attributes and metrics, defined once for the worker, the workflow sandbox and the
 * client. Workflow-safe (constants only).
 *
 * Contract: attributes and metric labels carry identifiers only (action id, task, status, policy ids, refusal codes,
 * stage names); they must never carry an input value, a plan, a target's answer or a secret.
 */

/** Span names: one per stage of an action. */
export const SPAN = {
  /** The client's proposal (the root of an action's trace). */
  propose: 'airlock.propose',
  /** One wait for approvals (a second one follows a plan that changed before execution). */
  approval: 'airlock.approval',
  /** One signed decision that reached the action (accepted or refused). */
  decision: 'airlock.decision',
  /** One HTTP call to a target, in a plan (reads) or an execution. */
  targetCall: 'airlock.target_call',
  /** A stage inside an activity: `airlock.verify`, `airlock.validate`, `airlock.policy`, `airlock.plan`, ... */
  stage: (stage: string): string => `airlock.${stage}`,
} as const;

/** Span attribute keys. */
export const ATTR = {
  actionId: 'airlock.action_id',
  task: 'airlock.task',
  status: 'airlock.status',
  policyIds: 'airlock.policy_ids',
  policyDecision: 'airlock.policy.decision',
  approvalsRequired: 'airlock.approvals_required',
  approvals: 'airlock.approvals',
  outcome: 'airlock.outcome',
  decision: 'airlock.decision',
  accepted: 'airlock.decision.accepted',
  refusalCode: 'airlock.refusal_code',
  approver: 'airlock.approver',
  errorType: 'airlock.error_type',
  dryRun: 'airlock.dry_run',
  target: 'airlock.target',
  /** Whether a refused decision reached history (`false`: the update's validator refused it before history). */
  recorded: 'airlock.recorded',
} as const;

/** Metric names (units in each one's description, see telemetry/metrics.ts). */
export const METRIC = {
  /** Finished actions, by task and final status. */
  actions: 'airlock.actions',
  /** How long actions waited for approvals, by task and how the wait ended. */
  approvalWait: 'airlock.approval.wait',
  /** Refused decisions, by refusal code (and whether they reached history). */
  refusals: 'airlock.decisions.refused',
  /** How long executions took (session, target call, read-back), by task and outcome. */
  executionDuration: 'airlock.execution.duration',
} as const;

/** The task label of an action whose proposal never verified (its task name is the sender's claim). */
export const UNVERIFIED_TASK = '(unverified)';

/** The header Temporal's OpenTelemetry interceptors carry a trace context in (`TRACE_HEADER` of the package). */
export const TRACE_HEADER = '_tracer-data';

/** The refusal code of a decision the workflow refused by throwing (its update validator, or a malformed decision). */
export function refusalCodeOf(err: unknown): string {
  return err instanceof ApplicationFailure && err.type ? err.type : 'unknown';
}
