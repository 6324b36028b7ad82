/**
 * The one status vocabulary of Airlock: search attribute, CLI, MCP and client SDK all use these words.
 * Workflow-safe: no I/O, no Node built-ins.
 */
export const ACTION_STATUSES = [
  'validating',
  'planning',
  'awaiting_approval',
  'awaiting_reapproval',
  'executing',
  'succeeded',
  'failed',
  'invalid',
  'denied',
  'rejected',
  'expired',
  'stale',
  'cancelled',
  'planned',
] as const;

/** Where an action stands. */
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/**
 * Statuses an action never leaves. `stale` is final: the target kept changing between approval and execution, and
 * the action gave up. While a changed plan awaits new approvals, the action is `awaiting_reapproval`.
 */
export const FINAL_STATUSES: readonly ActionStatus[] = [
  'succeeded',
  'failed',
  'invalid',
  'denied',
  'rejected',
  'expired',
  'stale',
  'cancelled',
  'planned',
];

/** Statuses in which an action takes decisions. */
export const DECIDING_STATUSES: readonly ActionStatus[] = ['awaiting_approval', 'awaiting_reapproval'];

/** Whether the action has finished. */
export function isFinalStatus(status: ActionStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** Risk levels a task declares; policy decides what each needs. */
export const RISK_LEVELS = ['low', 'high', 'critical'] as const;

/** How much harm a task can do. */
export type Risk = (typeof RISK_LEVELS)[number];
