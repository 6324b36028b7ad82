import { JsonlAuditLog } from '../audit/audit-log';
import { usageEntriesQuery } from '../common/messages';
import { usageLedgerId } from '../common/task-queue';
import { auditTrail } from '../audit/audit-trail';
import { formatAction } from '../client/cli/format';
import { formatBackTest, recordedActions } from '../client/cli/policy-report';
import { loadIdentities } from '../config/identities';
import { backTest } from '../policy/back-test';
import { loadPolicies } from '../policy/cedar-policy-engine';
import { createDefaultRegistry } from '../tasks';
import { runAirlock, suiteCliEnv } from './support/cli';
import { startHarness, type Harness } from './support/harness';
import { policiesWith } from './support/policies-with';

// Shadow policies are evaluated and recorded beside the enforced decision, never enforced; `airlock policy test`
// asks a candidate policy directory about what was decided; `airlock policy explain` says what decided an action.
const SHADOW_RULE = `@id("all-email-needs-one-approver")
@mode("shadow")
forbid (principal, action == Airlock::Action::"support.send_email", resource)
when { context.approvals < 1 };`;

let h: Harness;
let policies: string;
beforeAll(async () => {
  policies = policiesWith(SHADOW_RULE);
  h = await startHarness({ policiesDir: policies });
});
afterAll(async () => {
  await h?.close();
});

const airlock = (...args: string[]) => runAirlock(args, { env: suiteCliEnv(h.keysDir) });
const alice = { agent: 'support-bot', user: 'alice' };
const mail = { to: 'ada@example.com', subject: 'Your quote', body: 'Dear Ada, your quote is attached.' };

test('a shadow policy is evaluated and recorded beside the enforced decision, and never enforced', async () => {
  const { id } = await h.airlock.propose({ task: 'support.send_email', input: mail, ...alice });
  const final = await h.airlock.result(id, { timeoutMs: 60_000 });
  // Enforced: mail within example.com needs nobody, and went out at once.
  expect([final.status, final.approvalsRequired, final.approvedBy]).toEqual(['succeeded', 0, []]);
  // Shadow: it would have needed one approver; both are kept with the decision.
  expect(final.policy?.shadow).toEqual({
    decision: 'allow',
    approvalsRequired: 1,
    policyIds: ['all-email-needs-one-approver', 'support-bot-emails-customers-for-alice'],
    differs: true,
  });
  expect(formatAction(final, false)).toMatch(/shadow: would allow after 1 approval\(s\).*DIFFERS/);
  // The audit record (written by the activity that sent it) says both, as does the trail read from history.
  const [record] = new JsonlAuditLog(h.auditLogPath).find(id, final.runId, 'final');
  const decided = (record.events as { kind: string; summary: string }[]).find((e) => e.kind === 'policy_decided');
  expect(decided?.summary).toMatch(/allow \(support-bot-emails-customers-for-alice\).*shadow: would allow after 1/);
  // ...and which facts decided it, with their values.
  expect(decided?.summary).toContain('facts: facts.recipientDomain = "example.com"');
  expect((await auditTrail(h.client, id)).find((e) => e.kind === 'policy_decided')?.summary).toContain('shadow:');

  // explain: the deciding policies, the facts they read, and the shadow verdict.
  const explained = await airlock('policy', 'explain', id);
  expect(explained.code).toBe(0);
  expect(explained.stdout).toContain('deciding policies: support-bot-emails-customers-for-alice');
  expect(explained.stdout).toContain('facts.recipientDomain = "example.com"');
  expect(explained.stdout).toContain('shadow: would allow after 1 approval(s) (all-email-needs-one-approver');
});

test('policy test replays the audit log and the running actions against a candidate, exit 1 on any change', async () => {
  // A refund and a customer change wait for approvers; the email above is in the audit log.
  const refund = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: 'ch_insight0001', amount: 40 },
    ...alice,
  });
  const update = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { tier: 'gold' } },
    ...alice,
  });
  for (const { id } of [refund, update]) await h.airlock.waitFor(id, ['awaiting_approval']);

  // The candidate: the shadow rule turned on, and refunds of any amount need two.
  const candidate = policiesWith(
    `${SHADOW_RULE.replace('@mode("shadow")\n', '')}
@id("every-refund-needs-two")
forbid (principal, action == Airlock::Action::"billing.refund_charge", resource) when { context.approvals < 2 };`,
  );
  const files = ['--approvers', h.approversFile, '--agents', h.agentsFile, '--audit-log', h.auditLogPath];
  const offline = await airlock('policy', 'test', candidate, ...files, '--no-running', '--json');
  expect(offline.code).toBe(1);
  const report = JSON.parse(offline.stdout) as { checked: number; changes: { actionId: string; after: object }[] };
  expect(report.changes).toEqual([
    expect.objectContaining({
      task: 'support.send_email',
      source: 'audit log',
      before: { decision: 'allow', approvalsRequired: 0, policyIds: ['support-bot-emails-customers-for-alice'] },
      after: {
        decision: 'allow',
        approvalsRequired: 1,
        policyIds: ['all-email-needs-one-approver', 'support-bot-emails-customers-for-alice'],
      },
    }),
  ]);

  // With the running actions (asked from Temporal): the waiting refund changes too; the customer change does not.
  const identities = loadIdentities({ approversFile: h.approversFile, agentsFile: h.agentsFile });
  const registry = createDefaultRegistry();
  const engine = loadPolicies(candidate, registry, identities);
  const all = backTest(
    engine,
    registry,
    await recordedActions({ auditLog: new JsonlAuditLog(h.auditLogPath), client: h.airlock }),
  );
  expect(all.changes.map((c) => [c.task, c.source, c.before.approvalsRequired, c.after.approvalsRequired])).toEqual(
    expect.arrayContaining([
      ['support.send_email', 'audit log', 0, 1],
      ['billing.refund_charge', 'running', 1, 2],
    ]),
  );
  expect(all.changes.find((c) => c.actionId === update.id)).toBeUndefined();
  expect(all.checked).toBeGreaterThanOrEqual(3);

  // The enforced policies themselves change nothing: exit 0, and people read why.
  const same = await airlock('policy', 'test', policies, ...files);
  expect([same.code, same.stdout]).toEqual([
    0,
    expect.stringMatching(/^No change: all \d+ action\(s\) would be decided as they were/m),
  ]);

  // A candidate that does not validate fails with the policy and the fact it names, and exit 1.
  const broken = policiesWith(
    '@id("notes-by-amount")\nforbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource) when { context.plan.amount > 1 };',
  );
  const refused = await airlock('policy', 'test', broken, ...files, '--no-running');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/notes-by-amount.*plan/);
});

test('every string a back-test prints is escaped: a hostile action id or reason cannot drive the terminal', () => {
  const hostile = 'act-1\u001b[2J\u202e';
  const text = formatBackTest(
    {
      checked: 1,
      changes: [
        {
          actionId: hostile,
          task: 'billing.refund_charge',
          status: 'awaiting_approval',
          source: 'running',
          before: { decision: 'allow', approvalsRequired: 1, policyIds: [hostile] },
          after: { decision: 'deny', approvalsRequired: 0, policyIds: [] },
        },
      ],
      skipped: [{ actionId: hostile, why: `input ${hostile}` }],
    },
    `/tmp/${hostile}`,
    false,
  );
  expect(text).not.toMatch(/[\u001b\u202e]/);
  expect(text).toContain('would: deny (no policy matched)');
});

test('a plan that changed is decided again: a refund whose remaining amount grew past 20.00 needs two approvers', async () => {
  let refunded = 100_000 - 1500; // a 1,000.00 charge of which 15.00 remains refundable
  h.stripe.patchAnswers(/^GET \/v1\/charges\/ch_grow/, (charge) => ({
    ...charge,
    amount: 100_000,
    amount_refunded: refunded,
  }));
  const { id } = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: 'ch_grow0001' },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  expect((await h.airlock.get(id)).approvalsRequired).toBe(1);

  refunded = 100_000 - 2500; // an earlier refund of the charge was reversed: 25.00 remains now
  await h.decide(id, 'bob', 'approve');
  await h.airlock.waitFor(id, ['awaiting_reapproval']);
  const again = await h.airlock.get(id);
  expect([again.approvalsRequired, again.plan?.summary]).toEqual([2, expect.stringContaining('Refund 25.00 USD')]);
  expect(again.stalePlans).toHaveLength(1);
  // The decision shown is the one on the new plan: what decided it, and on which amount.
  expect(again.policy).toMatchObject({
    approvalsRequired: 2,
    raisedBy: ['refunds-over-20-need-two-approvers'],
    planFacts: { amountHundredths: 2500 },
  });

  const sentBefore = h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds').length;
  await h.decide(id, 'bob', 'approve');
  expect((await h.airlock.get(id)).status).toBe('awaiting_reapproval'); // one of two
  await h.decide(id, 'carol', 'approve');
  expect((await h.airlock.result(id, { timeoutMs: 60_000 })).status).toBe('succeeded');
  // Stripe was asked for the amount of the plan the two approved, and the ledger counts that amount.
  const sent = h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds').slice(sentBefore);
  expect(sent.map((r) => new URLSearchParams(r.body).get('amount'))).toEqual(['2500']);
  const entries = await h.client.workflow
    .getHandle(usageLedgerId(h.taskQueue, 'billing.refund_charge'))
    .query(usageEntriesQuery);
  expect(entries.find((e) => e.actionId === id)?.amount).toBe(2500);
}, 120_000);

test('the shipped rules end to end: a change of phone alone runs at once; a refund above 2,000.00 is denied, saying why', async () => {
  const phone = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1005', changes: { phone: '+31 20 555 1234' } },
    ...alice,
  });
  const changed = await h.airlock.result(phone.id, { timeoutMs: 60_000 });
  expect([changed.status, changed.approvalsRequired]).toEqual(['succeeded', 0]);
  expect(h.crm.store.customers.get('C-1005')?.phone).toBe('+31 20 555 1234');
  expect(changed.policy?.factsUsed).toEqual({ 'facts.changedFields': ['phone'] });

  h.stripe.patchAnswers(/^GET \/v1\/charges\/ch_large/, (charge) => ({
    ...charge,
    amount: 500_000,
    amount_refunded: 0,
  }));
  const before = h.stripe.requests.filter((r) => r.method === 'POST').length;
  const large = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: 'ch_large0001', amount: 200_001 },
    ...alice,
  });
  const denied = await h.airlock.result(large.id, { timeoutMs: 60_000 });
  expect(denied.status).toBe('denied');
  expect(denied.error?.message).toContain('agents-may-not-refund-over-2000');
  expect(denied.policy?.factsUsed).toMatchObject({ 'plan.amountHundredths': 200_001 });
  expect(h.stripe.requests.filter((r) => r.method === 'POST').length).toBe(before); // only the plan's read
});
