import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditTrail } from '../audit/audit-trail';
import { JsonlAuditLog } from '../audit/audit-log';
import { MAX_STALE_PLANS } from '../common/approval-rules';
import { DECIDING_STATUSES, isFinalStatus } from '../common/statuses';
import type { DecisionPayload, SignedDecision } from '../common/types';
import { createSigningKey } from '../crypto/signing-keys';
import { startHarness, type Harness } from './support/harness';
import { policiesWith } from './support/policies-with';
import { decisionPayload, signDecision } from './support/decisions';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    policiesDir: policiesWith(`
@id("ceo-bot-updates-with-two-approvals")
permit (principal == Airlock::Agent::"ceo-bot", action == Airlock::Action::"crm.update_customer", resource)
when { context.approvals >= 2 };`),
  });
});
afterAll(async () => {
  await h?.close();
});

const customer = (id: string) => ({ ...h.crm.store.customers.get(id)! });

async function pendingUpdate(customerId: string, changes: Record<string, string>, agent = 'support-bot') {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId, changes },
    agent,
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  return h.airlock.get(id);
}

const payloadFor = decisionPayload;
const signAs = (payload: DecisionPayload, who: string): SignedDecision => signDecision(payload, who, h.keysDir);

async function refusalsIn(id: string): Promise<string[]> {
  return (await auditTrail(h.client, id)).filter((e) => e.kind === 'decision_recorded').map((e) => e.summary);
}

test('forged, foreign, replayed and misdirected decisions are refused, recorded with their rule, and change nothing', async () => {
  const target = await pendingUpdate('C-1001', { tier: 'silver' });
  const other = await pendingUpdate('C-1002', { tier: 'bronze' });
  const before = [customer('C-1001'), customer('C-1002')];

  // A bad signature: bob signed, then the payload was altered in transit.
  const tampered = signAs(payloadFor(target, 'bob'), 'bob');
  tampered.payload = { ...tampered.payload, reason: 'added after signing' };
  // An unknown key: eve made a key pair but is in no approvers file.
  const eveDir = mkdtempSync(join(tmpdir(), 'airlock-eve-'));
  createSigningKey('eve', eveDir);
  const eve = signDecision(payloadFor(target, 'eve'), 'eve', eveDir);
  // mallory claims to be bob, signing with her own key.
  const impostor = {
    payload: payloadFor(target, 'bob'),
    signature: signDecision(payloadFor(target, 'bob'), 'mallory', h.keysDir).signature,
  };
  // A valid approval of the other action, replayed onto this one.
  const forOther = signAs(payloadFor(other, 'bob'), 'bob');
  // A decision signed long ago.
  const old = signAs({ ...payloadFor(target, 'carol'), time: new Date(Date.now() - 3_600_000).toISOString() }, 'carol');

  const attempts = [
    await h.airlock.decide(target.id, tampered),
    await h.airlock.decide(target.id, eve),
    await h.airlock.decide(target.id, impostor),
    await h.airlock.decide(target.id, forOther),
    await h.airlock.decide(target.id, old),
    await h.decide(target.id, 'alice', 'approve', { planHash: target.plan!.hash }),
    await h.decide(target.id, 'mallory', 'approve', { planHash: target.plan!.hash }),
    await h.decide(target.id, 'bob', 'approve', { planHash: other.plan!.hash }),
  ];
  expect(attempts.map((a) => a.refusal?.code)).toEqual([
    'bad_signature',
    'unknown_key',
    'bad_signature',
    'wrong_action',
    'stale_signature',
    'self_approval',
    'not_permitted',
    'wrong_plan_hash',
  ]);
  expect(attempts.every((a) => !a.accepted)).toBe(true);
  // Unsigned and forged ones never reach history (the update validator refuses them, and counts them); signed ones
  // by registered people stay in history with their refusal.
  // Unsigned, forged, misdirected and stale ones never reach history (the update validator refuses them, and counts
  // them); those a registered person signed for this run, lately, stay in history with their refusal.
  expect(attempts.map((a) => a.recorded !== false)).toEqual([false, false, false, false, false, true, true, true]);
  const after = await h.airlock.get(target.id);
  expect(after.approvedBy).toEqual([]);
  expect(after.refusedBeforeHistory).toEqual({
    total: 5,
    byCode: { bad_signature: 2, unknown_key: 1, wrong_action: 1, stale_signature: 1 },
  });
  expect((await h.airlock.get(other.id)).approvals).toEqual([]);
  expect([customer('C-1001'), customer('C-1002')]).toEqual(before);

  const recorded = await refusalsIn(target.id);
  expect(recorded).toHaveLength(3);
  for (const [i, code] of ['self_approval', 'not_permitted', 'wrong_plan_hash'].entries()) {
    expect(recorded[i]).toContain(`REFUSED (${code})`);
  }

  // The valid decision for the other action still works there, exactly once; replaying it again is refused.
  expect((await h.airlock.decide(other.id, forOther)).accepted).toBe(true);
  expect((await h.airlock.result(other.id)).status).toBe('succeeded');
  expect(customer('C-1002').tier).toBe('bronze');
  await expect(h.airlock.decide(other.id, forOther)).rejects.toThrow(/has finished \(succeeded\)/);
});

test('a replayed nonce is refused; the same approver twice counts once; a quorum of two distinct approvers runs it once', async () => {
  const writes = h.crm.store.writes;
  const state = await pendingUpdate('C-1003', { email: 'turing@example.org' }, 'ceo-bot');
  expect(state.approvalsRequired).toBe(2);

  const bob = signAs(payloadFor(state, 'bob'), 'bob');
  expect((await h.airlock.decide(state.id, bob)).accepted).toBe(true);
  expect((await h.airlock.decide(state.id, bob)).refusal?.code).toBe('replayed_nonce');
  expect((await h.decide(state.id, 'bob', 'approve', { planHash: state.plan!.hash })).refusal?.code).toBe(
    'duplicate_approver',
  );
  const midway = await h.airlock.get(state.id);
  expect(midway.status).toBe('awaiting_approval');
  expect(midway.approvedBy).toEqual(['bob']);
  expect(customer('C-1003').email).toBe('alan@example.com');

  expect((await h.decide(state.id, 'carol', 'approve', { planHash: state.plan!.hash })).accepted).toBe(true);
  const final = await h.airlock.result(state.id);
  expect(final.status).toBe('succeeded');
  expect(final.approvedBy).toEqual(['bob', 'carol']);
  expect(customer('C-1003').email).toBe('turing@example.org');
  expect(h.crm.store.writes).toBe(writes + 1);
  expect(await refusalsIn(state.id)).toEqual([
    expect.stringContaining('approve by bob accepted'),
    expect.stringContaining('REFUSED (duplicate_approver)'),
    expect.stringContaining('approve by carol accepted'),
  ]);
});

test('a target changed between approval and execution awaits reapproval; nothing runs until the new plan is approved, then once', async () => {
  const writes = h.crm.store.writes;
  const state = await pendingUpdate('C-1004', { tier: 'platinum' });
  // Someone changes the record after the plan was made and reviewed.
  h.crm.store.customers.get('C-1004')!.email = 'kj@nasa.example';

  expect((await h.decide(state.id, 'bob', 'approve', { planHash: state.plan!.hash })).accepted).toBe(true);
  expect(await h.airlock.waitFor(state.id, ['awaiting_reapproval'])).toBe('awaiting_reapproval');
  const stale = await h.airlock.get(state.id);
  expect(stale.stalePlans.map((p) => p.hash)).toEqual([state.plan!.hash]);
  expect(stale.plan!.hash).not.toBe(state.plan!.hash);
  expect(stale.plan!.before).toMatchObject({ email: 'kj@nasa.example', tier: 'gold' });
  expect(stale.approvedBy).toEqual([]);
  expect(h.crm.store.writes).toBe(writes);
  expect(customer('C-1004').tier).toBe('gold');

  // The old approval cannot be reused on the new plan.
  expect((await h.decide(state.id, 'carol', 'approve', { planHash: state.plan!.hash })).refusal?.code).toBe(
    'wrong_plan_hash',
  );
  expect((await h.decide(state.id, 'carol', 'approve', { planHash: stale.plan!.hash })).accepted).toBe(true);
  const final = await h.airlock.result(state.id);
  expect(final.status).toBe('succeeded');
  // executeAction plans again before it acts: the first attempt found the change and executed nothing.
  expect(final.transitions.map((t) => t.status)).toEqual([
    'validating',
    'planning',
    'awaiting_approval',
    'executing',
    'awaiting_reapproval',
    'executing',
    'succeeded',
  ]);
  expect(customer('C-1004')).toMatchObject({ tier: 'platinum', email: 'kj@nasa.example' });
  expect(h.crm.store.writes).toBe(writes + 1);
});

test('a target that keeps changing ends the action stale: final, audited, gone from pending, and nothing executed', async () => {
  const writes = h.crm.store.writes;
  const tier = customer('C-1003').tier;
  const state = await pendingUpdate('C-1003', { tier: tier === 'silver' ? 'gold' : 'silver' });
  let plan = state.plan!;
  for (let change = 1; change <= MAX_STALE_PLANS; change++) {
    h.crm.store.customers.get('C-1003')!.phone = `+44 20 7946 100${change}`;
    expect((await h.decide(state.id, 'bob', 'approve', { planHash: plan.hash })).accepted).toBe(true);
    if (change === MAX_STALE_PLANS) break;
    expect(await h.airlock.waitFor(state.id, ['awaiting_reapproval'])).toBe('awaiting_reapproval');
    plan = (await h.airlock.get(state.id)).plan!;
  }
  const final = await h.airlock.result(state.id);
  expect(final).toMatchObject({ status: 'stale', error: { type: 'AIRLOCK_STALE' } });
  expect(isFinalStatus(final.status)).toBe(true);
  expect(final.stalePlans).toHaveLength(MAX_STALE_PLANS);
  expect(final.transitions.map((t) => t.status).filter((s) => s === 'awaiting_reapproval')).toHaveLength(
    MAX_STALE_PLANS - 1,
  );
  expect(h.crm.store.writes).toBe(writes);
  expect(customer('C-1003').tier).toBe(tier);
  // An ended action leaves the approvers' queue, and its audit record says how it ended.
  const deciding = (await Promise.all(DECIDING_STATUSES.map((status) => h.airlock.list({ status })))).flat();
  expect(deciding.map((a) => a.id)).not.toContain(state.id);
  expect(new JsonlAuditLog(h.auditLogPath).find(state.id, final.runId, 'final')).toEqual([
    expect.objectContaining({ status: 'stale' }),
  ]);
});

test('a rejection by a permitted approver ends the action; nothing executes', async () => {
  const state = await pendingUpdate('C-1005', { name: 'E. W. Dijkstra' }, 'ceo-bot');
  expect((await h.decide(state.id, 'bob', 'approve', { planHash: state.plan!.hash })).accepted).toBe(true);
  expect(
    (await h.decide(state.id, 'carol', 'reject', { planHash: state.plan!.hash, reason: 'legal name unchanged' }))
      .accepted,
  ).toBe(true);
  const final = await h.airlock.result(state.id);
  expect(final.status).toBe('rejected');
  expect(customer('C-1005').name).toBe('Edsger Dijkstra');
});

test('the re-plan race: a rejection that arrives while the approved action re-plans is refused, never accepted and ignored', async () => {
  const writes = h.crm.store.writes;
  const state = await pendingUpdate('C-1002', { name: 'Rear Admiral Grace Hopper' });
  h.crm.slowReads(1500, 1); // executeAction's re-plan, just before execution
  expect((await h.decide(state.id, 'bob', 'approve', { planHash: state.plan!.hash })).accepted).toBe(true);
  expect(await h.airlock.waitFor(state.id, ['executing'])).toBe('executing');
  const late = await h.decide(state.id, 'carol', 'reject', { planHash: state.plan!.hash, reason: 'too late?' });
  expect([late.accepted, late.refusal?.code, late.recorded]).toEqual([false, 'not_awaiting_approval', false]);
  const final = await h.airlock.result(state.id);
  expect(final.status).toBe('succeeded');
  expect(final.approvals.filter((a) => a.accepted).map((a) => [a.approver, a.decision])).toEqual([['bob', 'approve']]);
  expect(customer('C-1002').name).toBe('Rear Admiral Grace Hopper');
  expect(h.crm.store.writes).toBe(writes + 1);
});
