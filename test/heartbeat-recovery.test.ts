/**
 * A worker that dies while it executes is noticed by its missing heartbeats, within seconds, and the execution is
 * tried again (its record and the idempotency key keep it to one effect), rather than after the 2-minute
 * start-to-close timeout. The worker's death is simulated in process (its first attempt neither answers nor
 * heartbeats); killing real worker processes is the fault suite's.
 */
import { startHarness, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ dieAtFirstExecution: true });
});
afterAll(async () => {
  await h?.close();
});

const alice = { agent: 'support-bot', user: 'alice' };

test('an auto-approved action whose executing worker died completes within seconds, with one effect', async () => {
  const started = Date.now();
  const { id } = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1003', note: 'heartbeat recovery note' },
    ...alice,
  });
  const done = await h.airlock.result(id, { timeoutMs: 30_000 });
  const ms = Date.now() - started;
  expect(done.status).toBe('succeeded');
  expect(ms).toBeLessThan(15_000);
  expect(h.crm.store.notes.filter((n) => n.text === 'heartbeat recovery note')).toHaveLength(1);
  const history = await h.client.workflow.getHandle(id).fetchHistory();
  const timedOut = (history.events ?? []).filter((e) => e.activityTaskTimedOutEventAttributes).length;
  const retried = (history.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2);
  // Temporal records only the last attempt's start; the heartbeat timeout shows as that attempt being the second.
  expect(timedOut + (retried ? 1 : 0)).toBeGreaterThanOrEqual(1);
});

test('an approved action whose executing worker died completes within seconds of its approval, with one effect', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { tier: 'platinum' } },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const before = h.crm.store.writes;
  const approved = Date.now();
  await h.approveAll(id);
  const done = await h.airlock.result(id, { timeoutMs: 30_000 });
  expect(done.status).toBe('succeeded');
  expect(Date.now() - approved).toBeLessThan(15_000);
  expect(h.crm.store.customers.get('C-1004')?.tier).toBe('platinum');
  expect(h.crm.store.writes - before).toBe(1);
});
