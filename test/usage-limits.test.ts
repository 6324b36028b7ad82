import { JsonlAuditLog } from '../audit/audit-log';
import { randomUUID } from 'node:crypto';
import { reserveUsageUpdate, settleUsageSignal, usageEntriesQuery } from '../common/messages';
import { usageLedgerId } from '../common/task-queue';
import type { ActionStatus } from '../common/statuses';
import { startHarness, type Harness } from './support/harness';
import { startRogue } from './support/rogue';
import { usageLedgerWorkflow } from '../workflows/usage-ledger-workflow';
import { policiesWith } from './support/policies-with';

// Limits over time, counted by Airlock's own ledger (a Temporal workflow): a daily limit of 100.00 of refunds for an
// agent, and proposals of 10.00 each, all at once.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    policiesDir: policiesWith(`@id("support-bot-refunds-at-most-100-a-day")
forbid (principal == Airlock::Agent::"support-bot", action == Airlock::Action::"billing.refund_charge", resource)
when { context.recent.agent.total > 10000 };`),
  });
  // stripe-mock answers every charge as one of 1.00: these are 1,000.00, nothing refunded yet.
  h.stripe.patchAnswers(/^GET \/v1\/charges\/ch_limit/, (charge) => ({
    ...charge,
    amount: 100_000,
    amount_refunded: 0,
  }));
});
afterAll(async () => {
  await h?.close();
});

const refund = (n: number) =>
  h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: `ch_limit${String(n).padStart(4, '0')}`, amount: 1000 },
    agent: 'support-bot',
    user: 'alice',
  });
const settled = (id: string) =>
  h.airlock.waitFor(id, ['awaiting_approval', 'denied', 'failed'] as ActionStatus[], { timeoutMs: 60_000 });
const ledger = () =>
  h.client.workflow.getHandle(usageLedgerId(h.taskQueue, 'billing.refund_charge')).query(usageEntriesQuery);

test('20 refunds of 10.00 at once against a daily limit of 100.00: exactly 10 pass, whatever the interleaving', async () => {
  const proposed = await Promise.all(Array.from({ length: 20 }, (_, i) => refund(i)));
  const ends = await Promise.all(proposed.map(({ id }) => settled(id)));
  expect(ends.filter((s) => s === 'awaiting_approval')).toHaveLength(10);
  expect(ends.filter((s) => s === 'denied')).toHaveLength(10);
  const passed = proposed.filter((_, i) => ends[i] === 'awaiting_approval').map((p) => p.id);
  const denied = proposed.filter((_, i) => ends[i] === 'denied').map((p) => p.id);

  // Each decision says what it counted: the ones that passed saw at most 100.00 with themselves, the others more.
  for (const id of passed) {
    const { policy } = await h.airlock.get(id);
    expect(policy?.recent?.agent.total).toBeLessThanOrEqual(10_000);
    expect(policy).toMatchObject({ approvalsRequired: 1, planFacts: { amountHundredths: 1000, currency: 'usd' } });
  }
  const refused = await h.airlock.get(denied[0]);
  expect(refused.policy).toMatchObject({
    decision: 'deny',
    policyIds: ['support-bot-refunds-at-most-100-a-day'],
    factsUsed: { 'recent.agent.total': expect.any(Number) },
  });
  expect(refused.policy!.recent!.agent.total).toBeGreaterThan(10_000);

  // The denied ones gave their reservations back: the ledger counts exactly the 10 that wait.
  await waitUntil(async () => (await ledger()).length === 10);
  expect((await ledger()).map((e) => e.actionId).sort()).toEqual([...passed].sort());

  // One is rejected, one fails before its execution began (Stripe refuses the last read of the charge): both give
  // their 10.00 back. One fails after its execution began (Stripe refuses the refund itself): it keeps it, since a
  // target that failed after acting would look the same. Two more refunds pass; a third does not.
  await h.decide(passed[0], 'bob', 'reject', { reason: 'duplicate' });
  expect((await h.airlock.result(passed[0])).status).toBe('rejected');
  h.stripe.failNext(/^GET \/v1\/charges\/ch_limit/, 400, 1);
  await h.decide(passed[1], 'bob', 'approve');
  expect((await h.airlock.result(passed[1], { timeoutMs: 60_000 })).status).toBe('failed');
  h.stripe.failNext(/^POST \/v1\/refunds/, 400, 1);
  await h.decide(passed[3], 'bob', 'approve');
  expect((await h.airlock.result(passed[3], { timeoutMs: 60_000 })).status).toBe('failed');
  const log = new JsonlAuditLog(h.auditLogPath);
  expect(log.has(passed[3], (await h.airlock.get(passed[3])).runId, 'execution')).toBe(true);
  await waitUntil(async () => (await ledger()).length === 8);
  expect((await ledger()).map((e) => e.actionId)).toContain(passed[3]);

  const more = await Promise.all([refund(100), refund(101), refund(102)]);
  const again = await Promise.all(more.map(({ id }) => settled(id)));
  expect(again.sort()).toEqual(['awaiting_approval', 'awaiting_approval', 'denied']);

  // A success keeps its reservation: it counts for the day.
  await h.decide(passed[2], 'bob', 'approve');
  expect((await h.airlock.result(passed[2], { timeoutMs: 60_000 })).status).toBe('succeeded');
  await waitUntil(async () => (await ledger()).some((e) => e.actionId === passed[2] && e.committedAt !== undefined));
  expect((await ledger()).length).toBe(10);
  expect(log.find(passed[2], (await h.airlock.get(passed[2])).runId, 'final').map((r) => r.status)).toEqual([
    'succeeded',
  ]);
}, 180_000);

async function waitUntil(ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error('timed out waiting for the ledger');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const reserveAs = (r: { actionId: string; runId: string; agent: string; requester: string; amount: number }) =>
  h.client.workflow
    .getHandle(usageLedgerId(h.taskQueue, 'billing.refund_charge'))
    .executeUpdate(reserveUsageUpdate, { args: [{ ...r, nonce: randomUUID() }] });
const settle = (actionId: string) =>
  h.client.workflow.getHandle(usageLedgerId(h.taskQueue, 'billing.refund_charge')).signal(settleUsageSignal, {
    actionId,
  });

// Anyone holding the payload keys (an agent backend does) can message the ledger: it must not take their word.
test('a settle signal from anyone only makes the ledger ask the audit log: a waiting reservation stays', async () => {
  const waiting = (await ledger()).find((e) => e.committedAt === undefined)!;
  await settle(waiting.actionId);
  await new Promise((r) => setTimeout(r, 1500));
  expect((await ledger()).map((e) => e.actionId)).toContain(waiting.actionId);
});

test("a reservation sent by someone else cannot move an action to another agent's count, and a made-up one is dropped", async () => {
  const waiting = (await ledger()).find((e) => e.committedAt === undefined)!;
  // Counted for support-bot; moved to ops-bot, it would leave support-bot's daily total.
  await expect(
    reserveAs({ actionId: waiting.actionId, runId: waiting.runId, agent: 'ops-bot', requester: 'ops-bot', amount: 0 }),
  ).rejects.toMatchObject({ cause: { type: 'AIRLOCK_LEDGER_REFUSED' } });
  expect((await ledger()).find((e) => e.actionId === waiting.actionId)?.agent).toBe('support-bot');

  // A made-up action counts only until the ledger asks about it (its sweep, or anyone's settle signal): no worker
  // recorded it in the audit log, so it is dropped.
  const made = `act-${'f'.repeat(24)}`;
  await reserveAs({ actionId: made, runId: 'made-up', agent: 'support-bot', requester: 'alice', amount: 5_000_000 });
  expect((await ledger()).map((e) => e.actionId)).toContain(made);
  await settle(made);
  await waitUntil(async () => !(await ledger()).some((e) => e.actionId === made));
});

test('ending the ledger does not reset the limits: started again, it rebuilds its book from the audit log', async () => {
  const before = (await ledger()).map((e) => e.actionId).sort();
  expect(before.length).toBeGreaterThanOrEqual(10);
  await h.client.workflow.getHandle(usageLedgerId(h.taskQueue, 'billing.refund_charge')).terminate('an attacker');
  const { id } = await refund(200);
  expect(await settled(id)).toBe('denied');
  const rebuilt = await h.airlock.get(id);
  expect(rebuilt.policy?.recent?.agent.total).toBeGreaterThan(10_000);
  // The denied one gives its reservation back once its record is written: then the rebuilt book is the one before.
  await waitUntil(async () => (await ledger()).length === before.length);
  expect((await ledger()).map((e) => e.actionId).sort()).toEqual(before);
});

test('a ledger someone else started in its place, answering with their own worker and the payload keys, is not believed', async () => {
  const rogue = await startRogue();
  try {
    const ledgerId = usageLedgerId(h.taskQueue, 'billing.refund_charge');
    await h.client.workflow.getHandle(ledgerId).terminate('an attacker');
    const impostor = await rogue.impostorLedger(ledgerId);
    const refunds = () => h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds').length;
    const sent = refunds();
    // The impostor answers "nothing done today" with this request's nonce: the refund would pass the daily limit.
    const { id } = await refund(300);
    const final = await h.airlock.result(id, { timeoutMs: 60_000 });
    expect(final.status).toBe('failed');
    expect(final.error?.message).toMatch(/is not Airlock's \(a usageLedgerWorkflow on queue rogue-enc-/);
    expect(refunds()).toBe(sent);
    await impostor.stop();
    // Once it is gone, Airlock's own ledger starts again from the audit log: the limit holds.
    const { id: next } = await refund(301);
    expect(await settled(next)).toBe('denied');
    // ...and gives the denied one's reservation back once its record is written (the next test counts on that).
    await waitUntil(async () => !(await ledger()).some((e) => e.actionId === next));
  } finally {
    await rogue.close();
  }
});

test('a ledger continues as new when its history grows, and each run counts what the audit log records', async () => {
  const ledgerId = usageLedgerId(h.taskQueue, 'billing.refund_charge');
  const book = await ledger();
  const before = book.map((e) => e.actionId).sort();
  // Every reservation still held is one still waiting (one that ended without executing would, rightly, not be rebuilt).
  for (const e of book.filter((e) => e.committedAt === undefined))
    expect((await h.airlock.get(e.actionId)).status).toBe('awaiting_approval');
  await h.client.workflow.getHandle(ledgerId).terminate('restarted by the test, to continue as new soon');
  const handle = await h.client.workflow.start(usageLedgerWorkflow, {
    workflowId: ledgerId,
    taskQueue: h.taskQueue,
    args: [{ task: 'billing.refund_charge', continueAtEvents: 40 }],
  });
  const made = (i: number) => `act-${String(i).padStart(24, 'e')}`;
  for (let i = 0; i < 20; i++)
    await reserveAs({ actionId: made(i), runId: 'made-up', agent: 'support-bot', requester: 'alice', amount: 100 });
  await waitUntil(async () => (await handle.describe()).runId !== handle.firstExecutionRunId);
  // The new run rebuilt its book from the audit log: the real reservations are there, the made-up ones it was
  // carrying are not.
  // Those the new run took after it started are dropped as soon as anyone asks it about them.
  for (let i = 0; i < 20; i++) await settle(made(i));
  // (Polled: the settles above lengthen its history too, and a run that continues as new answers once rebuilt.)
  const ids = async () => JSON.stringify((await ledger()).map((e) => e.actionId).sort());
  await waitUntil(async () => (await ids()) === JSON.stringify(before));
  expect((await handle.describe()).historyLength).toBeLessThan(60);
});

test('a usage ledger started under any id but its own (its task and queue) refuses to run, counting nothing', async () => {
  const handle = await h.client.workflow.start(usageLedgerWorkflow, {
    workflowId: `airlock-usage-elsewhere-${randomUUID()}`,
    taskQueue: h.taskQueue,
    args: [{ task: 'billing.refund_charge' }],
  });
  await expect(handle.result()).rejects.toMatchObject({ cause: { type: 'AIRLOCK_LEDGER_MISPLACED' } });
});
