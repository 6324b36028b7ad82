import { startProcessStack, type ProcessStack } from '../../stack/process-stack';
import type { WorkerProcess } from '../../stack/worker-process';
import type { ActionState } from '../../common/types';
import { approveAll, auditOf, newTag, TASK_CASES, type TaskCase } from './support/effects';

// The worker is a real process (workers/main.ts), killed with SIGKILL at four points of every task's action; a new
// process takes over. Each action must end as it should, with exactly one effect read back from its target and one
// final audit record, the log one valid chain.
let s: ProcessStack;
let worker: WorkerProcess;
/** Seconds from each kill to the action's end, by point. */
const recovery: Record<string, number[]> = {};

beforeAll(async () => {
  s = await startProcessStack();
  worker = await s.startWorker();
}, 180_000);
afterAll(async () => {
  await s?.close();
  const rows = Object.entries(recovery).map(
    ([point, secs]) => `${point}: ${secs.map((x) => x.toFixed(1)).join(', ')} s`,
  );
  if (rows.length) console.log(`kill → action ended, by kill point:\n  ${rows.join('\n  ')}`);
});

/** Kills the current worker and starts another at once (as a supervisor would); returns when the kill happened. */
async function killAndReplace(): Promise<number> {
  const killedAt = Date.now();
  await worker.kill('SIGKILL');
  worker = await s.startWorker();
  return killedAt;
}

/** Runs one action of `c` to its end while `during` kills the worker at its point; checks the outcome. */
async function survives(
  c: TaskCase,
  point: string,
  during: (id: string) => Promise<number>,
  expected: { status: string; effects: number; executions?: number } = { status: 'succeeded', effects: 1 },
): Promise<ActionState> {
  const tag = newTag();
  const { id } = await s.airlock.propose({
    task: c.task,
    agent: c.agent,
    user: c.user,
    input: c.input(tag),
    reason: `fault ${point}`,
  });
  const killedAt = await during(id);
  if (c.waits) await approveAll(s, id);
  const final = await s.airlock.result(id, { timeoutMs: 120_000 }).catch(async (err: unknown) => {
    const d = await s.client.workflow.getHandle(id).describe();
    const pending = (d.raw.pendingActivities ?? []).map(
      (a) => `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? ''}`,
    );
    throw new Error(`${(err as Error).message}\npending: ${pending.join('\n')}`);
  });
  (recovery[point] ??= []).push((Date.now() - killedAt) / 1000);
  if (process.env.FAULT_DEBUG) {
    const h = await s.client.workflow.getHandle(id).fetchHistory();
    console.log(
      point,
      new Date(killedAt).toISOString(),
      (h.events ?? [])
        .map(
          (e) =>
            `${new Date(Number(e.eventTime?.seconds) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)).toISOString().slice(17, 23)} ${e.eventType} ${e.activityTaskStartedEventAttributes?.attempt ?? ''}`,
        )
        .join('\n'),
    );
  }
  expect([final.status, final.status === 'succeeded' ? undefined : final.error?.type]).toEqual([
    expected.status,
    expected.status === 'succeeded' ? undefined : expect.any(String),
  ]);
  expect(await c.effects(s, id, tag)).toBe(expected.effects);
  const audit = await auditOf(s, id);
  expect(audit.kinds.filter((k) => k === 'final')).toEqual(['final']);
  expect(audit.kinds.filter((k) => k === 'execution').length).toBe(expected.executions ?? expected.effects);
  expect(audit.chainOk).toBe(true);
  return final;
}

describe.each(TASK_CASES)('$task', (c) => {
  const proxy = () => s.proxies[c.via];

  test('(a) killed while it plans', async () => {
    await survives(c, 'a: planning', async () => {
      // Every plan begins by minting its read-only session; the worker dies holding that request.
      const held = s.proxies.aws.hold(/ AssumeRole$/, 'before');
      await held.reached;
      const at = await killAndReplace();
      held.release();
      return at;
    });
  });

  if (c.waits)
    test('(b) killed while it waits for approval, approved while no worker runs', async () => {
      const tag = newTag();
      const { id } = await s.airlock.propose({ task: c.task, agent: c.agent, user: c.user, input: c.input(tag) });
      expect(await s.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 60_000 })).toBe('awaiting_approval');
      const killedAt = Date.now();
      await worker.kill('SIGKILL');
      // The decision is sent while no worker runs: it waits for one, and lands.
      const deciding = s.decide(id, 'bob');
      worker = await s.startWorker();
      expect((await deciding).accepted).toBe(true);
      await approveAll(s, id);
      const final = await s.airlock.result(id, { timeoutMs: 120_000 });
      (recovery['b: awaiting approval'] ??= []).push((Date.now() - killedAt) / 1000);
      expect(final.status).toBe('succeeded');
      expect(await c.effects(s, id, tag)).toBe(1);
      const audit = await auditOf(s, id);
      expect(audit.kinds.filter((k) => k !== 'reservation').sort()).toEqual(['execution', 'final']);
    });

  test('(c) killed inside the execution, before the target call', async () => {
    await survives(c, 'c: before the target call', async (id) => {
      if (c.waits) {
        await s.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 60_000 });
        const held = proxy().hold(c.firstWrite ?? c.write, 'before');
        const approving = approveAll(s, id);
        await held.reached;
        const at = await killAndReplace();
        held.release(); // cut: the target never sees it
        await approving.catch(() => undefined);
        return at;
      }
      const held = proxy().hold(c.firstWrite ?? c.write, 'before');
      await held.reached;
      const at = await killAndReplace();
      held.release();
      return at;
    });
  });

  test('(d) killed after the target call, before the activity completes', async () => {
    await survives(c, 'd: after the target call', async (id) => {
      const held = proxy().hold(c.write, 'after');
      const approving = c.waits
        ? s.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 60_000 }).then(() => approveAll(s, id))
        : Promise.resolve();
      await held.reached; // the target has carried it out; its answer is held
      const at = await killAndReplace();
      held.release();
      await approving.catch(() => undefined);
      return at;
    });
  });
});

test('an email whose send may not have gone out is not sent again either (at most once): the action fails and says so', async () => {
  const c = TASK_CASES.find((t) => t.task === 'support.send_email')!;
  const final = await survives(
    c,
    'c: between the marker and the send',
    async () => {
      const held = s.proxies.aws.hold(/ SendEmail$/, 'before');
      await held.reached;
      const at = await killAndReplace();
      held.release();
      return at;
    },
    { status: 'failed', effects: 0, executions: 1 },
  );
  expect(final.error?.message).toMatch(/may have been sent by an interrupted attempt; check the SES logs/);
});

test('an email whose send went out but whose record did not is never sent again: the action fails and says so', async () => {
  const c = TASK_CASES.find((t) => t.task === 'support.send_email')!;
  const final = await survives(
    { ...c, write: / SendEmail$/ },
    'd: between the send and its record',
    async () => {
      const held = s.proxies.aws.hold(/ SendEmail$/, 'after');
      await held.reached;
      const at = await killAndReplace();
      held.release();
      return at;
    },
    { status: 'failed', effects: 1 },
  );
  expect(final.error?.message).toMatch(/may have been sent by an interrupted attempt; check the SES logs/);
});
