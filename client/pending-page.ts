import { PlanIntegrityError } from '../common/errors';
import { DECIDING_STATUSES, type ActionStatus } from '../common/statuses';
import { listOldestFirst, type OldestFirstCursor } from './action-list';
import type { AirlockClient } from './airlock-client';

/** One action awaiting a decision, as `airlock pending` shows it. */
export interface PendingRow {
  id: string;
  task: string;
  status: ActionStatus;
  requester: string;
  agent: string;
  risk?: string;
  createdAt: string;
  summary?: string;
  planHash?: string;
  approvals?: number;
  approvalsRequired?: number;
  expiresAt?: string;
  /**
   * Why its worker did not answer in time: the row then comes from the action's search attributes and memo alone
   * (what the workflow itself wrote; display only: `airlock show` and `approve` check the plan).
   */
  unavailable?: string;
  /** The worker answered with a plan that does not hash to what it claims: never approve it. */
  planMismatch?: boolean;
}

/** How long a page waits for workers to answer for its rows, all at once, at most. */
export const PENDING_QUERY_BUDGET_MS = 400;

/**
 * How long a page may take in all: its rows are checked for what the listing left of this (up to
 * {@link PENDING_QUERY_BUDGET_MS}), so a slow listing (visibility counting 10,000 waiting) does not make a slow page.
 */
export const PENDING_PAGE_DEADLINE_MS = 900;

/**
 * One page of actions awaiting a decision, oldest first, read from visibility (search attributes and memo) so that
 * it needs no worker and costs the same with 10 or 10,000 waiting; the workers are then asked for the page's rows
 * at once, within {@link PENDING_QUERY_BUDGET_MS} and what is left of {@link PENDING_PAGE_DEADLINE_MS}, to check
 * each plan. A row whose worker is busy, down or late is shown from its memo, marked unavailable.
 */
export async function pendingPage(
  airlock: AirlockClient,
  opts: { task?: string; agent?: string; pageSize: number; offset?: number; queryBudgetMs?: number },
): Promise<{ rows: PendingRow[]; total: number; next?: OldestFirstCursor }> {
  const started = Date.now();
  const filter = { status: DECIDING_STATUSES, task: opts.task, agent: opts.agent };
  // An offset is walked a page of up to 1,000 at a time: the oldest-first cursor has no random access.
  let after: OldestFirstCursor | undefined;
  for (let skip = opts.offset ?? 0; skip > 0;) {
    const step = Math.min(skip, 1000);
    const skipped = await listOldestFirst(airlock.temporal, airlock.queue, filter, { pageSize: step, after });
    if (!skipped.next) return { rows: [], total: skipped.total };
    after = skipped.next;
    skip -= step;
  }
  const page = await listOldestFirst(airlock.temporal, airlock.queue, filter, { pageSize: opts.pageSize, after });
  const budget =
    opts.queryBudgetMs ??
    Math.max(0, Math.min(PENDING_QUERY_BUDGET_MS, PENDING_PAGE_DEADLINE_MS - (Date.now() - started)));
  const rows = await Promise.all(
    page.actions.map(async (a): Promise<PendingRow> => {
      const fromMemo: PendingRow = {
        id: a.id,
        task: a.task,
        status: a.status,
        requester: a.requester,
        agent: a.agent,
        risk: a.risk,
        createdAt: a.startedAt.toISOString(),
        ...(a.memo
          ? {
              summary: a.memo.summary,
              planHash: a.memo.planHash,
              approvals: a.memo.approvals,
              approvalsRequired: a.memo.approvalsRequired,
              expiresAt: a.memo.expiresAt,
            }
          : {}),
      };
      // Nothing left of the page's time: not asked at all (asked, the workers would answer for nobody).
      if (budget === 0) return { ...fromMemo, unavailable: 'not asked: listing the page took its time' };
      try {
        // The whole check (describe, then the query) within the budget, not only the query.
        const s = await withinMs(budget, airlock.get(a.id, { queryTimeoutMs: budget }));
        return {
          id: s.id,
          task: s.task,
          status: s.status,
          requester: s.requester,
          agent: s.agent,
          risk: s.risk,
          createdAt: s.createdAt,
          summary: s.plan?.summary,
          planHash: s.plan?.hash,
          approvals: s.approvedBy.length,
          approvalsRequired: s.approvalsRequired,
          expiresAt: s.expiresAt,
        };
      } catch (err) {
        return {
          ...fromMemo,
          unavailable: (err as Error).message,
          ...(err instanceof PlanIntegrityError ? { planMismatch: true } : {}),
        };
      }
    }),
  );
  return { rows, total: page.total, ...(page.next ? { next: page.next } : {}) };
}

/** `work`, or a rejection once `ms` have passed (the work goes on, unheeded). */
async function withinMs<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
