import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { AirlockError } from '../common/errors';
import { SA_AGENT, SA_REQUESTER, SA_RISK, SA_STATUS, SA_TASK } from '../common/search-attributes';
import { ACTION_STATUSES, type ActionStatus } from '../common/statuses';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';

/** Which actions to list. Every field narrows; none lists every action. */
export interface ActionFilter {
  /** One status or several (any of them). */
  status?: ActionStatus | readonly ActionStatus[];
  task?: string;
  /** The proposing agent. */
  agent?: string;
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
  const actions = (response.executions ?? []).map((info): ActionSummary => ({
    id: info.execution?.workflowId ?? '',
    task: keyword(info, SA_TASK.name) ?? '',
    status: (keyword(info, SA_STATUS.name) ?? 'validating') as ActionStatus,
    requester: keyword(info, SA_REQUESTER.name) ?? '',
    agent: keyword(info, SA_AGENT.name) ?? '',
    risk: keyword(info, SA_RISK.name),
    startedAt: new Date(Number(info.startTime?.seconds ?? 0) * 1000 + Math.floor((info.startTime?.nanos ?? 0) / 1e6)),
  }));
  const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { actions, nextPageToken: token };
}
