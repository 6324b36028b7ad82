import { mkdtempSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CedarPolicyEngine, DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../policy/cedar-policy-engine';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';
import { createDefaultRegistry } from '../tasks';
import { inHundredths } from '../tasks/billing/refund-charge';
import { policiesWith } from './support/policies-with';

const registry = createDefaultRegistry();
const tasks = registry.names();
// Each task's Cedar action with its own facts: the shipped policies read them, and strict validation needs them.
const shapes = registry.policyShapes();
const people = loadDevConfig().approvers; // bob and carol in group approvers; alice and mallory in none
const engine = CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), shapes, people);
const noUsage = { agent: { count: 0, total: 0 }, user: { count: 0, total: 0 }, task: { count: 0, total: 0 } };
/** A refund's plan facts, for an amount in cents. */
const refundOf = (cents: number) => ({
  amount: cents,
  currency: 'usd',
  amountHundredths: cents,
  shareOfChargePercent: 10,
});
/** What each task's first example tells policy (a refund: 15.00, nothing refunded today). */
const factsOf = (task: string) => {
  const def = registry.get(task);
  return {
    facts: def.facts?.of(def.inputSchema.parse(def.examples[0])),
    ...(def.planFacts ? { plan: refundOf(1500) } : {}),
    ...(def.usage ? { recent: noUsage } : {}),
  };
};
const note = {
  agent: 'support-bot',
  user: 'alice',
  task: 'crm.add_note_to_customer',
  risk: 'low' as const,
  target: 'demo-crm:customer/C-1001',
};
const update = {
  ...note,
  task: 'crm.update_customer',
  risk: 'high' as const,
  facts: { changedFields: ['email', 'tier'] },
};

test('support-bot may add notes for alice without approval', () => {
  expect(engine.decideProposal(note)).toMatchObject({
    decision: 'allow',
    approvalsRequired: 0,
    policyIds: ['support-bot-adds-crm-notes-for-alice'],
  });
});

test('support-bot may update customers for alice: one approver for a change beyond the phone, within 24 h', () => {
  expect(engine.decideProposal(update)).toEqual({
    decision: 'allow',
    approvalsRequired: 1,
    policyIds: ['support-bot-updates-crm-customers-for-alice'],
    raisedBy: ['customer-changes-beyond-the-phone-need-one-approver'],
    factsUsed: { 'facts.changedFields': ['email', 'tier'] },
    approvalTimeoutSeconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    sessionSeconds: 900,
    eligibleApprovers: ['bob', 'carol'],
    explanation:
      'Allowed after 1 distinct approval (customer-changes-beyond-the-phone-need-one-approver) by bob, carol.',
  });
  // The phone alone needs nobody; and the decision says which fact made it so.
  expect(engine.decideProposal({ ...update, facts: { changedFields: ['phone'] } })).toMatchObject({
    decision: 'allow',
    approvalsRequired: 0,
    factsUsed: { 'facts.changedFields': ['phone'] },
  });
});

describe('the shipped rules on what an action does', () => {
  const refund = { ...note, task: 'billing.refund_charge', risk: 'critical' as const, recent: noUsage };
  test.each([
    [1, 1],
    [2000, 1],
    [2001, 2],
    [200000, 2],
  ])('a refund of %i hundredths needs %i approver(s)', (cents, approvals) => {
    expect(engine.decideProposal({ ...refund, plan: refundOf(cents) })).toMatchObject({
      decision: 'allow',
      approvalsRequired: approvals,
      factsUsed: expect.objectContaining({ 'plan.amountHundredths': cents }),
    });
  });

  test('a refund above 2,000.00 is denied for agents, naming the rule and the amount', () => {
    expect(engine.decideProposal({ ...refund, plan: refundOf(200001) })).toMatchObject({
      decision: 'deny',
      policyIds: ['agents-may-not-refund-over-2000'],
      factsUsed: { 'plan.amountHundredths': 200001 },
    });
  });

  test('the same amount in yen or in dinars is read in its own currency: 20 JPY and 20.000 KWD are 20.00', () => {
    expect([inHundredths(20, 'JPY'), inHundredths(20_000, 'kwd'), inHundredths(2000, 'usd')]).toEqual([
      2000, 2000, 2000,
    ]);
  });

  test('an email within example.com needs nobody; anywhere else one approver', () => {
    const send = { ...note, task: 'support.send_email', risk: 'high' as const };
    expect(engine.decideProposal({ ...send, facts: { recipientDomain: 'example.com' } })).toMatchObject({
      decision: 'allow',
      approvalsRequired: 0,
    });
    expect(engine.decideProposal({ ...send, facts: { recipientDomain: 'example.org' } })).toMatchObject({
      decision: 'allow',
      approvalsRequired: 1,
      raisedBy: ['email-outside-example-com-needs-one-approver'],
    });
  });

  test("an agent's refunds over a day are limited: the decision counts what it already did", () => {
    const today = (total: number) => ({ ...noUsage, agent: { count: 3, total } });
    expect(engine.decideProposal({ ...refund, plan: refundOf(100), recent: today(500000) }).decision).toBe('allow');
    expect(engine.decideProposal({ ...refund, plan: refundOf(100), recent: today(500001) })).toMatchObject({
      decision: 'deny',
      policyIds: ['an-agent-refunds-at-most-5000-a-day'],
      factsUsed: { 'recent.agent.total': 500001 },
    });
  });
});

test('anything not permitted is denied: other users, other agents, no user', () => {
  for (const q of [
    { ...note, user: 'mallory' },
    { ...note, agent: 'rogue-bot' },
    { ...note, user: undefined },
  ]) {
    const d = engine.decideProposal(q);
    expect(d.decision).toBe('deny');
    expect(d.explanation).toContain('no policy permits');
  }
});

test('a critical task needs two distinct approvers, whatever the permit says', () => {
  const dir = policiesWith(
    `@id("support-bot-anything-critical")\npermit (principal == Airlock::Agent::"support-bot", action, resource) when { resource.risk == "critical" };`,
  );
  const critical = CedarPolicyEngine.load(dir, shapes, people).decideProposal({ ...update, risk: 'critical' });
  expect(critical).toMatchObject({
    decision: 'allow',
    approvalsRequired: 2,
    policyIds: expect.arrayContaining(['support-bot-anything-critical']),
  });
});

test('a forbid names itself in the denial, and @approval_timeout sets the approval window', () => {
  const dir = policiesWith(`
@id("no-crm-updates-on-fridays")
forbid (principal, action == Airlock::Action::"crm.update_customer", resource is Airlock::Target);
@id("quick-notes") @approval_timeout("90s")
permit (principal == Airlock::Agent::"quick-bot", action == Airlock::Action::"crm.add_note_to_customer", resource) when { context.approvals >= 1 };`);
  const e = CedarPolicyEngine.load(dir, shapes, people);
  expect(e.decideProposal(update)).toMatchObject({ decision: 'deny', policyIds: ['no-crm-updates-on-fridays'] });
  expect(e.decideProposal({ ...note, agent: 'quick-bot', user: undefined })).toMatchObject({
    decision: 'allow',
    approvalsRequired: 1,
    approvalTimeoutSeconds: 90,
  });
});

test('@remind, @escalate_to and @escalate_after on the permitting policies say whom to tell and when', () => {
  const dir = policiesWith(`
@id("quick-notes") @remind("2h") @escalate_to("leads") @escalate_after("8h")
permit (principal == Airlock::Agent::"quick-bot", action == Airlock::Action::"crm.add_note_to_customer", resource) when { context.approvals >= 1 };
@id("quick-notes-sooner") @remind("30m") @escalate_to("managers") @escalate_after("1h")
permit (principal == Airlock::Agent::"quick-bot", action == Airlock::Action::"crm.add_note_to_customer", resource) when { context.approvals >= 1 };`);
  const e = CedarPolicyEngine.load(dir, shapes, people);
  // The most attentive wins: the shortest reminder, the earliest escalation.
  expect(e.decideProposal({ ...note, agent: 'quick-bot', user: undefined })).toMatchObject({
    approvalsRequired: 1,
    notifications: { remindEverySeconds: 1800, escalateTo: 'managers', escalateAfterSeconds: 3600 },
  });
  // A decision that needs nobody tells nobody.
  expect(engine.decideProposal(note).notifications).toBeUndefined();
});

test('only members of the approvers group may approve', () => {
  const q = { task: 'crm.update_customer', risk: 'high' as const, requester: 'alice', agent: 'support-bot' };
  expect(engine.canApprove({ ...q, approver: 'bob' })).toEqual({
    permitted: true,
    policyIds: ['approvers-group-approves-any-task'],
  });
  expect(engine.canApprove({ ...q, approver: 'carol' }).permitted).toBe(true);
  expect(engine.canApprove({ ...q, approver: 'mallory' })).toEqual({ permitted: false, policyIds: [] });
  expect(engine.canApprove({ ...q, approver: 'alice' }).permitted).toBe(false);
});

describe('bad policy files fail the worker start with a message naming the problem', () => {
  const broken = (file: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-bad-policies-'));
    cpSync(join(REPO_ROOT, 'policies'), dir, { recursive: true });
    writeFileSync(join(dir, file), text);
    return dir;
  };
  test.each([
    ['a policy without @id', 'policies.cedar', 'permit (principal, action, resource);', /every policy needs an @id/],
    [
      'a syntax error',
      'policies.cedar',
      '@id("x") permit (principal, action resource);',
      /policies.cedar does not parse/,
    ],
    [
      'an unknown task',
      'policies.cedar',
      '@id("x") permit (principal, action == Airlock::Action::"crm.nope", resource);',
      /do not validate/,
    ],
    [
      'a duplicate id',
      'policies.cedar',
      '@id("x") permit (principal, action, resource);\n@id("x") forbid (principal, action, resource);',
      /two policies have @id\("x"\)/,
    ],
    [
      'a bad timeout',
      'policies.cedar',
      '@id("x") @approval_timeout("soon") permit (principal, action, resource);',
      /"soon" is not a duration/,
    ],
    [
      'an escalation without a delay',
      'policies.cedar',
      '@id("x") @escalate_to("leads") permit (principal, action, resource);',
      /@escalate_to and @escalate_after go together/,
    ],
    [
      'a reminder that is not a duration',
      'policies.cedar',
      '@id("x") @remind("often") permit (principal, action, resource);',
      /"often" is not a duration/,
    ],
    [
      'entities of an unknown type',
      'entities.json',
      '[{"uid":{"type":"Airlock::Robot","id":"r"},"attrs":{},"parents":[]}]',
      /entities.json does not match the schema/,
    ],
    [
      'a person in entities.json too',
      'entities.json',
      '[{"uid":{"type":"Airlock::User","id":"bob"},"attrs":{},"parents":[]}]',
      /bob is in both entities.json and the approvers file/,
    ],
  ])('%s', (_name, file, text, message) => {
    expect(() => CedarPolicyEngine.load(broken(file, text), shapes, people)).toThrow(message);
  });
});

test('each engine decides by its own policies: the parsed policy set is cached per engine, never shared', () => {
  const strict = CedarPolicyEngine.load(
    policiesWith(
      '@id("no-notes")\nforbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource);',
    ),
    shapes,
    people,
  );
  // Interleaved, in one process: a cache keyed by anything but the engine would answer one with the other's policies.
  for (let i = 0; i < 3; i++) {
    expect(engine.decideProposal(note)).toMatchObject({ decision: 'allow', approvalsRequired: 0 });
    expect(strict.decideProposal(note)).toMatchObject({ decision: 'deny', policyIds: ['no-notes'] });
  }
  expect(CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), shapes, people).decideProposal(note).decision).toBe(
    'allow',
  );
});

test('a request carries only the entities, facts and policies it can reach, and decides exactly as with all of them (property)', () => {
  // Policies whose conditions read entities the request does not name (a literal person's groups) and test
  // memberships of the context's user: what an entity slice could get wrong.
  const dir = policiesWith(
    [
      `@id("members-of-finance-may-not-have-agents-update")\nforbid (principal, action == Airlock::Action::"crm.update_customer", resource) when { context has user && context.user in Airlock::Group::"finance" };`,
      `@id("notes-for-anyone-while-bob-approves")\npermit (principal == Airlock::Agent::"support-bot", action == Airlock::Action::"crm.add_note_to_customer", resource) when { context has user && Airlock::User::"bob" in Airlock::Group::"approvers" };`,
      `@id("nobody-acts-for-a-suspended-manager's-report")\nforbid (principal, action, resource) when { context has user && context.user has manager && context.user.manager in Airlock::Group::"suspended" };`,
      `@id("finance-approves-low-risk")\npermit (principal in Airlock::Group::"finance", action == Airlock::Action::"approve", resource) when { resource.risk == "low" && context.agent != Airlock::Agent::"other-bot" };`,
      // Facts read by name, with `has`, and as a whole record; scopes by list: what trimming or splitting could miss.
      `@id("large-shares-need-three")\nforbid (principal, action in [Airlock::Action::"billing.refund_charge"], resource) when { context.plan has shareOfChargePercent && context.plan.shareOfChargePercent > 50 && context.approvals < 3 };`,
      `@id("busy-tasks-need-one")\nforbid (principal, action == Airlock::Action::"billing.refund_charge", resource) when { context.recent.task.count > 3 && context.approvals < 1 };`,
      `@id("this-exact-usage-is-refused")\nforbid (principal, action == Airlock::Action::"billing.refund_charge", resource) when { context.recent.user == {"count": 2, "total": 200} };`,
      `@id("emails-or-updates-by-other-bot")\npermit (principal == Airlock::Agent::"other-bot", action in [Airlock::Action::"support.send_email", Airlock::Action::"crm.update_customer"], resource);`,
      // Approvals tested in unusual forms: one pass where they are conjuncts, once per number where not (||, unless).
      `@id("parameters-by-other-bot-at-two-or-four")\npermit (principal == Airlock::Agent::"other-bot", action == Airlock::Action::"ops.set_parameter", resource) when { context.approvals == 2 || context.approvals == 4 };`,
      `@id("no-notes-with-exactly-one")\nforbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource) when { 1 == context.approvals && context has user };`,
      `@id("emails-by-other-bot-unless-three")\nforbid (principal == Airlock::Agent::"other-bot", action == Airlock::Action::"support.send_email", resource) unless { context.approvals >= 3 };`,
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'entities.json'),
    JSON.stringify([
      { uid: { type: 'Airlock::Group', id: 'approvers' }, attrs: {}, parents: [] },
      { uid: { type: 'Airlock::Group', id: 'finance' }, attrs: {}, parents: [] },
      { uid: { type: 'Airlock::Group', id: 'suspended' }, attrs: {}, parents: [] },
      // An entity held in an attribute, never named by the request: the slice must follow it.
      {
        uid: { type: 'Airlock::User', id: 'erin' },
        attrs: { manager: { __entity: { type: 'Airlock::User', id: 'boss' } } },
        parents: [],
      },
      { uid: { type: 'Airlock::User', id: 'boss' }, attrs: {}, parents: [{ type: 'Airlock::Group', id: 'suspended' }] },
    ]),
  );
  const schema = join(dir, 'airlock.cedarschema');
  writeFileSync(
    schema,
    readFileSync(schema, 'utf8').replace('entity User in [Group];', 'entity User in [Group] = { manager?: User };'),
  );
  const staff = [...people, { name: 'dora', groups: ['finance'] }];
  const agents = [{ name: 'support-bot' }, { name: 'other-bot' }];
  const sliced = CedarPolicyEngine.load(dir, shapes, staff, agents);
  const whole = CedarPolicyEngine.load(dir, shapes, staff, agents, {
    entitySlicing: false,
    contextTrimming: false,
    splitByAction: false,
    approvalsInOnePass: false,
  });
  const users = [...staff.map((p) => p.name), 'erin', 'boss', 'nobody-known'];
  fc.assert(
    fc.property(
      fc.record({
        agent: fc.constantFrom('support-bot', 'other-bot', 'rogue-bot'),
        user: fc.option(fc.constantFrom(...users), { nil: undefined }),
        task: fc.constantFrom(...tasks),
        risk: fc.constantFrom('low' as const, 'high' as const, 'critical' as const),
        target: fc.string({ maxLength: 12 }),
        approver: fc.constantFrom(...users),
        cents: fc.integer({ min: 0, max: 300_000 }),
        share: fc.integer({ min: 0, max: 100 }),
        count: fc.integer({ min: 0, max: 5 }),
        total: fc.constantFrom(0, 200, 10_000, 600_000),
      }),
      (q) => {
        const given = factsOf(q.task);
        if (given.plan) given.plan = { ...refundOf(q.cents), shareOfChargePercent: q.share };
        if (given.recent) {
          const figures = { count: q.count, total: q.total };
          given.recent = { agent: figures, user: { count: 2, total: q.total }, task: figures };
        }
        expect(sliced.decideProposal({ ...q, ...given })).toEqual(whole.decideProposal({ ...q, ...given }));
        expect(sliced.canPreview(q)).toEqual(whole.canPreview(q));
        const a = { approver: q.approver, task: q.task, risk: q.risk, requester: q.user ?? q.agent, agent: q.agent };
        expect(sliced.canApprove(a)).toEqual(whole.canApprove(a));
      },
    ),
    { numRuns: 400 },
  );
  // The policies above do bite: the slice is compared on decisions that differ.
  const refund = (share: number, user = { count: 0, total: 0 }) =>
    sliced.decideProposal({
      ...update,
      facts: {},
      task: 'billing.refund_charge',
      risk: 'critical',
      plan: { ...refundOf(100), shareOfChargePercent: share },
      recent: { agent: { count: 0, total: 0 }, user, task: { count: 0, total: 0 } },
    });
  expect([refund(10).approvalsRequired, refund(60).approvalsRequired]).toEqual([1, 3]);
  expect(refund(10, { count: 2, total: 200 })).toMatchObject({
    decision: 'deny',
    policyIds: ['this-exact-usage-is-refused'],
  });
  const d = (user: string) => sliced.decideProposal({ ...update, user, agent: 'support-bot' }).decision;
  expect([d('alice'), d('dora')]).toEqual(['allow', 'deny']);
  const note = (user: string) =>
    sliced.decideProposal({ ...update, user, agent: 'support-bot', task: 'crm.add_note_to_customer', facts: {} });
  expect(note('erin')).toMatchObject({ decision: 'deny', policyIds: ["nobody-acts-for-a-suspended-manager's-report"] });
  expect(
    sliced.canApprove({ approver: 'dora', task: tasks[0], risk: 'low', requester: 'x', agent: 'support-bot' })
      .permitted,
  ).toBe(true);
});

describe('facts: policy reads what the input says, typed in Cedar per task', () => {
  const facts = (task: string, input: unknown) =>
    registry.get(task).facts?.of(registry.get(task).inputSchema.parse(input));

  test('a rule on a fact decides by it: a change of email is refused, a change of phone is not', () => {
    const e = CedarPolicyEngine.load(
      policiesWith(`@id("no-agent-changes-emails")
forbid (principal is Airlock::Agent, action == Airlock::Action::"crm.update_customer", resource)
when { context.facts.changedFields.contains("email") };`),
      shapes,
      people,
    );
    const email = facts('crm.update_customer', { customerId: 'C-1002', changes: { email: 'x@example.org' } });
    const phone = facts('crm.update_customer', { customerId: 'C-1002', changes: { phone: '+44 20 7946 0000' } });
    expect(email).toEqual({ changedFields: ['email'] });
    expect(e.decideProposal({ ...update, facts: email })).toMatchObject({
      decision: 'deny',
      policyIds: ['no-agent-changes-emails'],
    });
    expect(e.decideProposal({ ...update, facts: phone })).toMatchObject({ decision: 'allow', approvalsRequired: 0 });
  });

  test('a fact is typed: the domain an email goes to is a String, compared as one', () => {
    const e = CedarPolicyEngine.load(
      policiesWith(`@id("mail-outside-example-com-refused")
forbid (principal, action == Airlock::Action::"support.send_email", resource)
when { context.facts.recipientDomain != "example.com" };`),
      shapes,
      people,
    );
    const send = { ...update, task: 'support.send_email' };
    const to = (address: string) => facts('support.send_email', { to: address, subject: 's', body: 'b' });
    expect(to('Ada@EXAMPLE.com')).toEqual({ recipientDomain: 'example.com' });
    expect(e.decideProposal({ ...send, facts: to('ada@example.com') }).decision).toBe('allow');
    expect(e.decideProposal({ ...send, facts: to('someone@elsewhere.example') }).decision).toBe('deny');
  });

  test('a policy that reads a fact a task does not have fails the load, naming the policy and the fact', () => {
    const load = () =>
      CedarPolicyEngine.load(
        policiesWith(`@id("refund-limit-on-notes")
forbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource)
when { context.facts.amountMinor > 2000 };`),
        shapes,
        people,
      );
    expect(load).toThrow(/refund-limit-on-notes/);
    expect(load).toThrow(/amountMinor/);
  });
});

describe('shadow mode: a log-only policy is evaluated beside the enforced ones, never enforced', () => {
  const withShadow = (rule: string) => CedarPolicyEngine.load(policiesWith(rule), shapes, people);

  test('a shadow forbid leaves the decision as it was and says what it would have done', () => {
    const e = withShadow(
      '@id("no-notes-for-alice") @mode("shadow")\nforbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource) when { context has user && context.user == Airlock::User::"alice" };',
    );
    expect(e.shadowPolicies()).toEqual(['no-notes-for-alice']);
    expect(e.decideProposal(note)).toMatchObject({
      decision: 'allow',
      approvalsRequired: 0,
      policyIds: ['support-bot-adds-crm-notes-for-alice'],
      shadow: { decision: 'deny', approvalsRequired: 0, policyIds: ['no-notes-for-alice'], differs: true },
    });
    // Where it does not apply, it agrees.
    expect(e.decideProposal(update).shadow).toMatchObject({ decision: 'allow', approvalsRequired: 1, differs: false });
  });

  test('without shadow policies a decision carries no shadow verdict; an unknown @mode fails the load', () => {
    expect(engine.decideProposal(note).shadow).toBeUndefined();
    expect(() => withShadow('@id("x") @mode("log")\nforbid (principal, action, resource);')).toThrow(
      /@mode\("log"\) is not a mode/,
    );
  });
});
