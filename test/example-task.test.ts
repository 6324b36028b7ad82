import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { loadDevConfig } from '../stack/dev-config';
import { MOTO_ADMIN, seedMoto } from '../stack/moto';
import { createDefaultRegistry } from '../tasks';
import { setStockLevel, STOCK_TABLE } from './fixtures/example-task/set-stock-level';
import { startHarness, type Harness } from './support/harness';
import { policiesWith } from './support/policies-with';
import { testEnv } from './support/test-env';

// README "Writing a task", followed for a task on a new target: the task file, its registration, one permit, and the
// local stack seeding its role, table and session rights from the task itself. Nothing else was touched.
const cfg = loadDevConfig();
let h: Harness;
beforeAll(async () => {
  // What `npm start` does for every task in tasks/index.ts (this one is not listed there).
  await seedMoto(testEnv('motoEndpoint'), cfg.moto, { tasks: [setStockLevel] });
  h = await startHarness({
    registry: createDefaultRegistry().register(setStockLevel),
    // README "Writing a task", step 3: who may run it, and who may preview (dry-run) it.
    policiesDir: policiesWith(
      [
        '@id("ops-bot-sets-stock-levels")',
        'permit (principal == Airlock::Agent::"ops-bot", action == Airlock::Action::"inventory.set_stock_level", resource);',
        '@id("ops-bot-previews-stock-levels")',
        'permit (principal == Airlock::Agent::"ops-bot", action == Airlock::Action::"preview", resource) when { resource.task == "inventory.set_stock_level" };',
      ].join('\n'),
    ),
  });
});
afterAll(async () => {
  await h?.close();
});

async function stockOf(sku: string): Promise<{ quantity?: number; applied?: string[] }> {
  const ddb = new DynamoDBClient({ region: cfg.moto.region, endpoint: h.motoEndpoint, credentials: MOTO_ADMIN });
  try {
    const { Item } = await ddb.send(
      new GetItemCommand({ TableName: STOCK_TABLE, Key: { sku: { S: sku } }, ConsistentRead: true }),
    );
    return {
      quantity: Item?.quantity?.N === undefined ? undefined : Number(Item.quantity.N),
      applied: Item?.applied?.SS,
    };
  } finally {
    ddb.destroy();
  }
}

test('the example task plans, runs once through its own narrow session, and a dry run changes nothing', async () => {
  const dry = await h.airlock.result(
    (
      await h.airlock.propose({
        task: 'inventory.set_stock_level',
        input: { sku: 'SKU-042', quantity: 7 },
        agent: 'ops-bot',
        dryRun: true,
      })
    ).id,
  );
  expect(dry).toMatchObject({ status: 'planned', plan: { summary: 'Start stocking SKU-042 at 7' } });
  expect(await stockOf('SKU-042')).toEqual({});

  const { id } = await h.airlock.propose({
    task: 'inventory.set_stock_level',
    input: { sku: 'SKU-042', quantity: 7 },
    agent: 'ops-bot',
  });
  const done = await h.airlock.result(id);
  expect(done).toMatchObject({
    status: 'succeeded',
    result: { output: { sku: 'SKU-042', quantity: 7, replayed: false } },
  });
  expect(await stockOf('SKU-042')).toEqual({ quantity: 7, applied: [id] });
  // The session was minted from the task's own statements, on the role the stack seeded from the task.
  expect(done.result?.credentials).toMatchObject({
    roleArn: `arn:aws:iam::${cfg.moto.accountId}:role/airlock-example-inventory`,
  });

  const next = await h.airlock.result(
    (
      await h.airlock.propose({
        task: 'inventory.set_stock_level',
        input: { sku: 'SKU-042', quantity: 3 },
        agent: 'ops-bot',
      })
    ).id,
  );
  expect(next.plan?.diff).toEqual([{ path: 'quantity', op: 'change', before: 7, after: 3 }]);
  expect(await stockOf('SKU-042')).toMatchObject({ quantity: 3 });
});

test('an agent policy does not name is denied the example task', async () => {
  const denied = await h.airlock.result(
    (
      await h.airlock.propose({
        task: 'inventory.set_stock_level',
        input: { sku: 'SKU-043', quantity: 1 },
        agent: 'support-bot',
        user: 'alice',
      })
    ).id,
  );
  expect(denied.status).toBe('denied');
  expect(await stockOf('SKU-043')).toEqual({});
});

test('its execution is exactly once: a retry after another action’s write finds its own mark and writes nothing', async () => {
  const ctx = (actionId: string) => ({
    actionId,
    secrets: {},
    endpoints: {},
    fetch,
    aws: { region: cfg.moto.region, endpoint: h.motoEndpoint, credentials: { ...MOTO_ADMIN, sessionToken: 'moto' } },
  });
  const [a, b] = ['act-example000000000000000a', 'act-example000000000000000b'];
  expect(await setStockLevel.execute({ sku: 'SKU-044', quantity: 5 }, ctx(a))).toMatchObject({ replayed: false });
  expect(await setStockLevel.execute({ sku: 'SKU-044', quantity: 9 }, ctx(b))).toMatchObject({ replayed: false });
  // Action a's result was lost (a worker died after the write); Temporal retries it.
  expect(await setStockLevel.execute({ sku: 'SKU-044', quantity: 5 }, ctx(a))).toMatchObject({ replayed: true });
  expect(await stockOf('SKU-044')).toEqual({ quantity: 9, applied: expect.arrayContaining([a, b]) });
});
