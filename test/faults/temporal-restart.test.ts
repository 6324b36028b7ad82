import { startProcessStack, type ProcessStack } from '../../stack/process-stack';
import type { WorkerProcess } from '../../stack/worker-process';
import { approveAll, auditOf, newTag, TASK_CASES } from './support/effects';

// The Temporal server itself is killed (SIGKILL) and started again on the same database file while actions wait
// for approval and while they execute: the worker process reconnects by itself, and every action ends once.
let s: ProcessStack;
let worker: WorkerProcess;

beforeAll(async () => {
  s = await startProcessStack();
  worker = await s.startWorker();
}, 180_000);
afterAll(async () => {
  await s?.close();
});

test('actions waiting for approval survive a server crash and restart, and run once when approved', async () => {
  const waiting = TASK_CASES.filter((c) => c.waits);
  const actions = await Promise.all(
    waiting.map(async (c) => {
      const tag = newTag();
      const { id } = await s.airlock.propose({ task: c.task, agent: c.agent, user: c.user, input: c.input(tag) });
      expect(await s.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 60_000 })).toBe('awaiting_approval');
      return { c, id, tag };
    }),
  );
  await s.restartTemporal('SIGKILL', 1000);
  for (const { id } of actions) {
    expect(await s.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 60_000 })).toBe('awaiting_approval');
    await approveAll(s, id);
  }
  for (const { c, id, tag } of actions) {
    expect((await s.airlock.result(id, { timeoutMs: 120_000 })).status).toBe('succeeded');
    expect(await c.effects(s, id, tag)).toBe(1);
    expect((await auditOf(s, id)).kinds.filter((k) => k !== 'reservation').sort()).toEqual(['execution', 'final']);
  }
  expect(worker.process.exitCode).toBeNull(); // the same worker process carried on
});

test('actions executing when the server dies finish once after it is back', async () => {
  // Every task's effect has reached its target and the answer is on its way back when the server goes down.
  const running = await Promise.all(
    TASK_CASES.map(async (c) => {
      const tag = newTag();
      const held = s.proxies[c.via].hold(c.write, 'after');
      const { id } = await s.airlock.propose({ task: c.task, agent: c.agent, user: c.user, input: c.input(tag) });
      return { c, id, tag, held };
    }),
  );
  // One at a time: the holds of one proxy are taken in order.
  for (const { c, id, held } of running) {
    if (c.waits) await approveAll(s, id);
    await held.reached;
  }
  await s.restartTemporal('SIGKILL', 2000).then(() => undefined);
  for (const { held } of running) held.release();
  for (const { c, id, tag } of running) {
    const final = await s.airlock.result(id, { timeoutMs: 120_000 });
    expect([c.task, final.status]).toEqual([c.task, 'succeeded']);
    expect(await c.effects(s, id, tag)).toBe(1);
    expect((await auditOf(s, id)).kinds.filter((k) => k === 'final')).toEqual(['final']);
  }
  expect((await auditOf(s, running[0].id)).chainOk).toBe(true);
});
