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
