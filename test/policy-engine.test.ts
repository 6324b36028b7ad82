import { mkdtempSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CedarPolicyEngine, DEFAULT_APPROVAL_TIMEOUT_SECONDS } from '../policy/cedar-policy-engine';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';
import { createDefaultRegistry } from '../tasks';
import { policiesWith } from './support/policies-with';

const tasks = createDefaultRegistry().names();
const people = loadDevConfig().approvers; // bob and carol in group approvers; alice and mallory in none
const engine = CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), tasks, people);
const note = {
  agent: 'support-bot',
  user: 'alice',
  task: 'crm.add_note_to_customer',
  risk: 'low' as const,
  target: 'demo-crm:customer/C-1001',
};
const update = { ...note, task: 'crm.update_customer', risk: 'high' as const };

test('support-bot may add notes for alice without approval', () => {
  expect(engine.decideProposal(note)).toMatchObject({
    decision: 'allow',
    approvalsRequired: 0,
    policyIds: ['support-bot-adds-crm-notes-for-alice'],
  });
});

test('support-bot may update customers for alice after one approval by the approvers group, within 24 h', () => {
  expect(engine.decideProposal(update)).toEqual({
    decision: 'allow',
    approvalsRequired: 1,
    policyIds: ['support-bot-updates-crm-customers-for-alice-with-one-approval'],
    approvalTimeoutSeconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    sessionSeconds: 900,
    eligibleApprovers: ['bob', 'carol'],
    explanation: 'Allowed after 1 distinct approval by bob, carol.',
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
  const critical = CedarPolicyEngine.load(dir, tasks, people).decideProposal({ ...update, risk: 'critical' });
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
  const e = CedarPolicyEngine.load(dir, tasks, people);
  expect(e.decideProposal(update)).toMatchObject({ decision: 'deny', policyIds: ['no-crm-updates-on-fridays'] });
  expect(e.decideProposal({ ...note, agent: 'quick-bot', user: undefined })).toMatchObject({
    decision: 'allow',
    approvalsRequired: 1,
    approvalTimeoutSeconds: 90,
  });
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
    expect(() => CedarPolicyEngine.load(broken(file, text), tasks, people)).toThrow(message);
  });
});

test('each engine decides by its own policies: the parsed policy set is cached per engine, never shared', () => {
  const strict = CedarPolicyEngine.load(
    policiesWith(
      '@id("no-notes")\nforbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource);',
    ),
    tasks,
    people,
  );
  // Interleaved, in one process: a cache keyed by anything but the engine would answer one with the other's policies.
  for (let i = 0; i < 3; i++) {
    expect(engine.decideProposal(note)).toMatchObject({ decision: 'allow', approvalsRequired: 0 });
    expect(strict.decideProposal(note)).toMatchObject({ decision: 'deny', policyIds: ['no-notes'] });
  }
  expect(CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), tasks, people).decideProposal(note).decision).toBe(
    'allow',
  );
});

test('a request carries only the entities it can reach, and decides exactly as with every entity (property)', () => {
  // Policies whose conditions read entities the request does not name (a literal person's groups) and test
  // memberships of the context's user: what an entity slice could get wrong.
  const dir = policiesWith(
    [
      `@id("members-of-finance-may-not-have-agents-update")\nforbid (principal, action == Airlock::Action::"crm.update_customer", resource) when { context has user && context.user in Airlock::Group::"finance" };`,
      `@id("notes-for-anyone-while-bob-approves")\npermit (principal == Airlock::Agent::"support-bot", action == Airlock::Action::"crm.add_note_to_customer", resource) when { context has user && Airlock::User::"bob" in Airlock::Group::"approvers" };`,
      `@id("nobody-acts-for-a-suspended-manager's-report")\nforbid (principal, action, resource) when { context has user && context.user has manager && context.user.manager in Airlock::Group::"suspended" };`,
      `@id("finance-approves-low-risk")\npermit (principal in Airlock::Group::"finance", action == Airlock::Action::"approve", resource) when { resource.risk == "low" && context.agent != Airlock::Agent::"other-bot" };`,
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
  const sliced = CedarPolicyEngine.load(dir, tasks, staff, agents);
  const whole = CedarPolicyEngine.load(dir, tasks, staff, agents, { entitySlicing: false });
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
      }),
      (q) => {
        expect(sliced.decideProposal(q)).toEqual(whole.decideProposal(q));
        expect(sliced.canPreview(q)).toEqual(whole.canPreview(q));
        const a = { approver: q.approver, task: q.task, risk: q.risk, requester: q.user ?? q.agent, agent: q.agent };
        expect(sliced.canApprove(a)).toEqual(whole.canApprove(a));
      },
    ),
    { numRuns: 400 },
  );
  // The policies above do bite: the slice is compared on decisions that differ.
  const d = (user: string) =>
    sliced.decideProposal({ ...update, user, agent: 'support-bot', task: 'crm.update_customer' }).decision;
  expect([d('alice'), d('dora')]).toEqual(['allow', 'deny']);
  const note = (user: string) =>
    sliced.decideProposal({ ...update, user, agent: 'support-bot', task: 'crm.add_note_to_customer' });
  expect(note('erin')).toMatchObject({ decision: 'deny', policyIds: ["nobody-acts-for-a-suspended-manager's-report"] });
  expect(
    sliced.canApprove({ approver: 'dora', task: tasks[0], risk: 'low', requester: 'x', agent: 'support-bot' })
      .permitted,
  ).toBe(true);
});

describe('facts: policy reads what the input says, typed in Cedar per task', () => {
  const registry = createDefaultRegistry();
  const shapes = registry.names().map((name) => ({ name, facts: registry.get(name).facts?.types }));
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
    expect(e.decideProposal({ ...update, facts: phone })).toMatchObject({ decision: 'allow', approvalsRequired: 1 });
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
