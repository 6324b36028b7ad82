import type { ActionState } from './types';

/**
 * What lists and the inbox show of an action without asking its worker, kept in the workflow's memo (encrypted by
 * the payload codec, unlike search attributes). Display only: deciding on an action always reads the action itself.
 * Workflow-safe.
 */
export interface ActionMemo {
  summary?: string;
  planHash?: string;
  approvalsRequired: number;
  approvals: number;
  expiresAt?: string;
}

/** The memo key Airlock writes. */
export const ACTION_MEMO_KEY = 'airlock';

/** Longest summary kept in the memo. */
const MAX_SUMMARY_CHARS = 300;

/** The memo of an action's state. */
export function actionMemo(s: ActionState): ActionMemo {
  return {
    ...(s.plan ? { summary: s.plan.summary.slice(0, MAX_SUMMARY_CHARS), planHash: s.plan.hash } : {}),
    approvalsRequired: s.approvalsRequired,
    approvals: s.approvedBy.length,
    ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}),
  };
}

/** A memo read back from visibility, if it has the expected shape (anything else is not shown). */
export function readActionMemo(value: unknown): ActionMemo | undefined {
  const m = value as Partial<ActionMemo> | undefined;
  if (!m || typeof m !== 'object') return undefined;
  if (!Number.isSafeInteger(m.approvalsRequired) || !Number.isSafeInteger(m.approvals)) return undefined;
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length <= max ? v : undefined);
  return {
    summary: text(m.summary, MAX_SUMMARY_CHARS),
    planHash: text(m.planHash, 64),
    approvalsRequired: m.approvalsRequired as number,
    approvals: m.approvals as number,
    expiresAt: text(m.expiresAt, 40),
  };
}
