import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { AirlockError } from '../common/errors';
import { SA_AGENT, SA_REQUESTER, SA_RISK, SA_STATUS, SA_TASK } from '../common/search-attributes';
import { ACTION_STATUSES, RISK_LEVELS, type ActionStatus, type Risk } from '../common/statuses';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { ACTION_MEMO_KEY, readActionMemo, type ActionMemo } from '../common/action-memo';
import { historyDecoder } from '../audit/history-payloads';

/** Which actions to list. Every field narrows; none lists every action. */
export interface ActionFilter {
  /** One status or several (any of them). */
  status?: ActionStatus | readonly ActionStatus[];
  task?: string;
  /** The proposing agent. */
  agent?: string;
  /** The task's risk. */
  risk?: Risk;
  /** Only actions started at or after this time. */
  since?: Date;
  /** Only actions started before this time. */
  before?: Date;
}

/** One line of a list: what visibility knows of an action, without asking its worker. */
export interface ActionSummary {
  id: string;
  task: string;
  status: ActionStatus;
  requester: string;
  agent: string;
  risk?: string;
  startedAt: Date;
  /** What the action keeps in its memo (summary, approvals, expiry), for actions that keep one: display only. */
  memo?: ActionMemo;
}

/** A page of actions, newest first; `nextPageToken` fetches the next one. */
export interface ActionPage {
  actions: ActionSummary[];
  nextPageToken?: string;
}

/** A filter value people typed was not one a list can use. */
export class ListFilterError extends AirlockError {
  readonly type = 'AIRLOCK_LIST_FILTER';
}

// Task and agent names are identifiers; anything else in a filter is refused, never quoted into the query.
const NAME = /^[A-Za-z0-9_.@:-]{1,200}$/;

/** The visibility query of a filter. Values are checked, not escaped: a value that could break out is refused. */
export function actionQuery(taskQueue: string, filter: ActionFilter): string {
  const name = (what: string, value: string) => {
    if (!NAME.test(value))
      throw new ListFilterError(
        `The ${what} filter "${value.slice(0, 60)}" is not a ${what} name (letters, digits, . _ - @ :).`,
      );
    return `'${value}'`;
  };
  const clauses = [`WorkflowType = '${ACTION_WORKFLOW_TYPE}'`, `TaskQueue = ${name('task queue', taskQueue)}`];
  const statuses =
    filter.status === undefined ? [] : typeof filter.status === 'string' ? [filter.status] : [...filter.status];
  for (const status of statuses) {
    if (!(ACTION_STATUSES as readonly string[]).includes(status))
      throw new ListFilterError(
        `"${String(status).slice(0, 40)}" is not a status; use one of ${ACTION_STATUSES.join(', ')}.`,
      );
  }
  if (statuses.length) clauses.push(`${SA_STATUS.name} IN (${statuses.map((s) => `'${s}'`).join(', ')})`);
  if (filter.task) clauses.push(`${SA_TASK.name} = ${name('task', filter.task)}`);
  if (filter.agent) clauses.push(`${SA_AGENT.name} = ${name('agent', filter.agent)}`);
  if (filter.risk !== undefined) {
    if (!(RISK_LEVELS as readonly string[]).includes(filter.risk))
      throw new ListFilterError(
        `"${String(filter.risk).slice(0, 40)}" is not a risk; use one of ${RISK_LEVELS.join(', ')}.`,
      );
    clauses.push(`${SA_RISK.name} = '${filter.risk}'`);
  }
  const time = (what: string, d: Date) => {
    if (Number.isNaN(d.getTime())) throw new ListFilterError(`The ${what} time is not a date.`);
    return `'${d.toISOString()}'`;
  };
  if (filter.since) clauses.push(`StartTime >= ${time('since', filter.since)}`);
  if (filter.before) clauses.push(`StartTime < ${time('before', filter.before)}`);
  return clauses.join(' AND ');
}

const keyword = (info: temporal.api.workflow.v1.IWorkflowExecutionInfo, key: string): string | undefined => {
  const payload = info.searchAttributes?.indexedFields?.[key];
  if (!payload) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  return typeof value === 'string' ? value : undefined;
};

/** One page of actions on `taskQueue`, newest first, read from visibility. */
export async function listActions(
  client: Client,
  taskQueue: string,
  filter: ActionFilter,
  page: { pageSize?: number; pageToken?: string },
): Promise<ActionPage> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: actionQuery(taskQueue, filter),
    pageSize: page.pageSize ?? 50,
    nextPageToken: page.pageToken ? Buffer.from(page.pageToken, 'base64url') : undefined,
  });
  const decode = historyDecoder(client);
  const actions = await Promise.all(
    (response.executions ?? []).map(async (info): Promise<ActionSummary> => {
      const memoPayload = info.memo?.fields?.[ACTION_MEMO_KEY];
      const memo = memoPayload ? readActionMemo(await decode(memoPayload)) : undefined;
      return {
        id: info.execution?.workflowId ?? '',
        task: keyword(info, SA_TASK.name) ?? '',
        status: (keyword(info, SA_STATUS.name) ?? 'validating') as ActionStatus,
        requester: keyword(info, SA_REQUESTER.name) ?? '',
        agent: keyword(info, SA_AGENT.name) ?? '',
        risk: keyword(info, SA_RISK.name),
        startedAt: new Date(
          Number(info.startTime?.seconds ?? 0) * 1000 + Math.floor((info.startTime?.nanos ?? 0) / 1e6),
        ),
        ...(memo ? { memo } : {}),
      };
    }),
  );
  const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { actions, nextPageToken: token };
}

/** How many more than a page an oldest-first range may hold before it is narrowed further (it is read whole). */
const RANGE_SLACK = 200;

/** A place in an oldest-first listing: the start time of the last action shown, and the ids shown at that time. */
export interface OldestFirstCursor {
  /** Start time (ms). */
  at: number;
  ids: string[];
}

/** A page of actions, oldest first; `next` continues after it. */
export interface OldestFirstPage {
  actions: ActionSummary[];
  next?: OldestFirstCursor;
  /** How many match the filter in all. */
  total: number;
}

/**
 * One page of actions, oldest first, from visibility alone and without reading every action: SQL visibility lists
 * only newest first, so the page's end is found by counting (a bisection over start times, a few dozen counts), and
 * the page is then listed newest first up to that end and turned around (`counts` says how many counts it took). Actions that started in the same
 * millisecond as the cursor are told apart by id, so none is skipped or shown twice.
 */
export async function listOldestFirst(
  client: Client,
  taskQueue: string,
  filter: ActionFilter,
  page: { pageSize: number; after?: OldestFirstCursor; now?: number; rangeSlack?: number },
): Promise<OldestFirstPage & { counts: number }> {
  let counts = 0;
  const slack = page.rangeSlack ?? RANGE_SLACK;
  const count = async (f: ActionFilter) =>
    ++counts &&
    Number(
      (
        await client.workflowService.countWorkflowExecutions({
          namespace: client.options.namespace,
          query: actionQuery(taskQueue, f),
        })
      ).count ?? 0,
    );
  const after = page.after;
  const base: ActionFilter = { ...filter, ...(after ? { since: new Date(after.at) } : {}) };
  const seen = new Set(after?.ids ?? []);
  const total = await count(filter);
  const inBase = after ? await count(base) : total; // the same count, without a cursor
  // The end of the page's range: a start time before which a page's worth remain, and not many more (the range is
  // read whole). Found by counting: the age of the oldest to within a power of two, then halving. Left open when
  // everything left is about a page, or when this clock is behind the server's (nothing counted before "now").
  const enough = (n: number) => n - seen.size >= page.pageSize;
  const few = (n: number) => n - seen.size <= page.pageSize + slack;
  let end: number | undefined;
  const top = Math.max(page.now ?? Date.now(), after?.at ?? 0) + 60_000;
  if (!few(inBase) && enough(await count({ ...base, before: new Date(top) }))) {
    let hi = top;
    let lo = after?.at ?? hi;
    if (!after) {
      // A bisection over the age's power of two (1 s to 136 years), rather than doubling back from now: a count scans
      // the rows it counts, so counts of the past cost little and counts near now, all of them, the most (15 ms
      // against 5 ms with 10,000 waiting on the in-memory server; more on a file). Ages: enough before top - 2^young
      // seconds (or top itself), not before top - 2^old seconds.
      let [young, old, found] = [-1, 32, false];
      while (old - young > 1 && !found) {
        const mid = Math.floor((young + old) / 2);
        const n = await count({ ...base, before: new Date(top - 2 ** mid * 1000) });
        if (enough(n)) [young, found] = [mid, few(n)];
        else old = mid;
      }
      hi = young < 0 ? top : top - 2 ** young * 1000;
      lo = found ? hi : top - 2 ** old * 1000;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const n = await count({ ...base, before: new Date(mid) });
      if (!enough(n)) lo = mid;
      else {
        hi = mid;
        if (few(n)) break;
      }
    }
    end = hi;
  }
  // The page's range holds about a page (and what the cursor saw): read it whole, newest first, and turn it around.
  const inRange: ActionSummary[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    if (++pages > 20)
      throw new ListFilterError('Too many actions started within one millisecond to page through them in order.');
    const listed = await listActions(
      client,
      taskQueue,
      { ...base, ...(end !== undefined ? { before: new Date(end) } : {}) },
      { pageSize: 1000, pageToken: token },
    );
    inRange.push(...listed.actions);
    token = listed.nextPageToken;
  } while (token);
  const actions = inRange
    .filter((a) => !seen.has(a.id))
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.id.localeCompare(b.id))
    .slice(0, page.pageSize);
  // The cursor's ids that still wait were read again; those that stopped waiting are not counted as left.
  const seenStillWaiting = inRange.filter((a) => seen.has(a.id)).length;
  const last = actions.at(-1);
  const more = inBase - seenStillWaiting > actions.length;
  const lastAt = last?.startedAt.getTime();
  const next =
    more && last && lastAt !== undefined
      ? {
          at: lastAt,
          ids: [
            ...(after && after.at === lastAt ? after.ids : []),
            ...actions.filter((a) => a.startedAt.getTime() === lastAt).map((a) => a.id),
          ],
        }
      : undefined;
  return { actions, total, counts, ...(next ? { next } : {}) };
}
