/**
 * The inbox's oldest-first pages, from visibility alone: every waiting action appears exactly once, in start order,
 * even when many started in the same millisecond, without reading every action.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { listOldestFirst, type ActionSummary, type OldestFirstCursor } from '../client/action-list';
import { SA_RISK, SA_STATUS, SA_TASK } from '../common/search-attributes';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { testEnv } from './support/test-env';

let connection: Connection;
let client: Client;
const queue = `airlock-oldest-${randomUUID()}`;
const started: string[] = [];

beforeAll(async () => {
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection, namespace: testEnv('namespace') });
  // 60 waiting actions (no worker polls this queue), most of them started in bursts within the same milliseconds.
  for (let burst = 0; burst < 3; burst++) {
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const id = `act-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
        await client.workflow.start(ACTION_WORKFLOW_TYPE, {
          taskQueue: queue,
          workflowId: id,
          args: [{}],
          typedSearchAttributes: [
            { key: SA_STATUS, value: i % 10 === 9 ? 'awaiting_reapproval' : 'awaiting_approval' },
            { key: SA_TASK, value: 'support.send_email' },
            { key: SA_RISK, value: i % 2 ? 'high' : 'critical' },
          ],
        });
        started.push(id);
      }),
    );
  }
  for (;;) {
    const { count } = await client.workflowService.countWorkflowExecutions({
      namespace: testEnv('namespace'),
      query: `TaskQueue = '${queue}'`,
    });
    if (Number(count) >= 60) break;
    await new Promise((r) => setTimeout(r, 200));
  }
});
afterAll(async () => {
  await Promise.all(
    started.map((id) =>
      client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined),
    ),
  );
  await connection.close();
});

async function all(
  pageSize: number,
  filter = {},
  rangeSlack?: number,
): Promise<{ pages: ActionSummary[][]; total: number }> {
  const pages: ActionSummary[][] = [];
  let after: OldestFirstCursor | undefined;
  let total = 0;
  do {
    const page = await listOldestFirst(
      client,
      queue,
      { status: ['awaiting_approval', 'awaiting_reapproval'], ...filter },
      { pageSize, after, rangeSlack },
    );
    pages.push(page.actions);
    total = page.total;
    after = page.next;
  } while (after && pages.length < 100);
  return { pages, total };
}

test.each([
  [7, 200],
  [7, 0],
  [5, 2],
  [25, 0],
  [60, 0],
  [100, 200],
])('pages of %i (ranges read whole at up to %i over a page): every action once, oldest first', async (size, slack) => {
  const { pages, total } = await all(size, {}, slack);
  const ids = pages.flat().map((a) => a.id);
  expect(total).toBe(60);
  expect(new Set(ids).size).toBe(60);
  expect(ids.sort()).toEqual([...started].sort());
  const flat = pages.flat();
  for (let i = 1; i < flat.length; i++)
    expect(flat[i].startedAt.getTime()).toBeGreaterThanOrEqual(flat[i - 1].startedAt.getTime());
  for (const page of pages.slice(0, -1)) expect(page).toHaveLength(size);
});

test('a filter (risk) is applied by visibility, so pages stay full', async () => {
  const { pages, total } = await all(7, { risk: 'high' });
  expect(total).toBe(30);
  expect(pages.flat().every((a) => a.risk === 'high')).toBe(true);
  expect(new Set(pages.flat().map((a) => a.id)).size).toBe(30);
  for (const page of pages.slice(0, -1)) expect(page).toHaveLength(7);
});

test('a cursor whose ids no longer wait (decided meanwhile) still leads to every action left', async () => {
  const first = await listOldestFirst(
    client,
    queue,
    { status: ['awaiting_approval', 'awaiting_reapproval'] },
    { pageSize: 25, rangeSlack: 0 },
  );
  const cursor = first.next as OldestFirstCursor;
  // As if the actions it saw at its last moment had been decided since: ids the listing no longer holds.
  const stale = { at: cursor.at, ids: [...cursor.ids, `act-${'0'.repeat(24)}`, `act-${'1'.repeat(24)}`] };
  const rest: string[] = [];
  let after: OldestFirstCursor | undefined = stale;
  for (let i = 0; after && i < 20; i++) {
    const page = await listOldestFirst(
      client,
      queue,
      { status: ['awaiting_approval', 'awaiting_reapproval'] },
      { pageSize: 4, after, rangeSlack: 0 },
    );
    rest.push(...page.actions.map((a) => a.id));
    after = page.next;
  }
  expect(new Set([...first.actions.map((a) => a.id), ...rest]).size).toBe(60);
});
