import { startHarness, type Harness } from './support/harness';
import { policiesWith } from './support/policies-with';
import { auditTrail } from '../audit/audit-trail';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    policiesDir: policiesWith(`
@id("hasty-bot-updates-with-a-short-window") @approval_timeout("2s")
permit (principal == Airlock::Agent::"hasty-bot", action == Airlock::Action::"crm.update_customer", resource)
when { context.approvals >= 1 };`),
  });
});
afterAll(async () => {
  await h?.close();
});

test('an action whose approval window closes ends expired, executes nothing, and refuses a late approval', async () => {
  const before = { ...h.crm.store.customers.get('C-1003')! };
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1003', changes: { tier: 'platinum' } },
    agent: 'hasty-bot',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const pending = await h.airlock.get(id);
  expect(Date.parse(pending.expiresAt!) - Date.parse(pending.plan!.plannedAt)).toBeLessThanOrEqual(3000);

  const final = await h.airlock.result(id, { timeoutMs: 20_000 });
  expect(final.status).toBe('expired');
  expect(final.error?.type).toBe('AIRLOCK_EXPIRED');
  expect(h.crm.store.customers.get('C-1003')).toEqual(before);
  await expect(h.decide(id, 'bob', 'approve')).rejects.toThrow(/has finished \(expired\)/);
  expect(h.crm.store.customers.get('C-1003')).toEqual(before);
  const kinds = (await auditTrail(h.client, id)).map((e) => e.kind);
  expect(kinds).toEqual(expect.arrayContaining(['approval_window_opened', 'approval_window_closed']));
});

test('an approval that arrives after the window closed, while no worker ran, is refused as expired and recorded', async () => {
  const before = { ...h.crm.store.customers.get('C-1004')! };
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { tier: 'bronze' } },
    agent: 'hasty-bot',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const { plan } = await h.airlock.get(id);

  await h.stopWorker();
  await new Promise((r) => setTimeout(r, 2500)); // the window closes while the worker is down
  const late = h.decide(id, 'bob', 'approve', { planHash: plan!.hash });
  await new Promise((r) => setTimeout(r, 300));
  await h.startWorker();

  const attempt = await late;
  expect(attempt.accepted).toBe(false);
  expect(attempt.refusal?.code).toBe('expired');
  const final = await h.airlock.result(id);
  expect(final.status).toBe('expired');
  expect(final.approvals).toEqual([
    expect.objectContaining({
      approver: 'bob',
      accepted: false,
      refusal: expect.objectContaining({ code: 'expired' }),
    }),
  ]);
  expect(h.crm.store.customers.get('C-1004')).toEqual(before);
  const recorded = (await auditTrail(h.client, id)).filter((e) => e.kind === 'decision_recorded').map((e) => e.summary);
  expect(recorded).toEqual([expect.stringContaining('REFUSED (expired)')]);
});
