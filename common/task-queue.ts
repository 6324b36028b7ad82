/** The task queue every Airlock worker polls and every client starts actions on. */
export const AIRLOCK_TASK_QUEUE = 'airlock-actions';

/** Workflow type name of an action. */
export const ACTION_WORKFLOW_TYPE = 'actionWorkflow';

/** Workflow type name of a counted task's usage ledger. */
export const USAGE_LEDGER_WORKFLOW_TYPE = 'usageLedgerWorkflow';

/**
 * The workflow id of a counted task's usage ledger: one per task (so its agent, requester and task figures agree) and
 * task queue (the workers that serve it).
 */
export const usageLedgerId = (taskQueue: string, task: string): string => `airlock-usage:${taskQueue}:${task}`;

/** Whether `workflowId` is the usage ledger id of `task` (on whichever queue). */
export const isUsageLedgerIdOf = (workflowId: string, task: string): boolean =>
  workflowId.startsWith('airlock-usage:') && workflowId.endsWith(`:${task}`) && !task.includes(':');

/** Workflow type name of a decision that arrived after its action had ended (it records it; it decides nothing). */
export const LATE_DECISION_WORKFLOW_TYPE = 'lateDecisionWorkflow';

/**
 * The workflow id of a late decision: one per action, approver and signature (`signatureDigest`, hex sha-256 of the
 * signature), so that the same decision sent again, or sent in a flood, meets the one workflow already there.
 */
export const lateDecisionWorkflowId = (actionId: string, approver: string, signatureDigest: string): string =>
  `airlock-late:${actionId}:${approver}:${signatureDigest.slice(0, 32)}`;
