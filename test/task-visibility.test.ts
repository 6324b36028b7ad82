import { join } from 'node:path';
import fc from 'fast-check';
import { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';
import { createDefaultRegistry } from '../tasks';
import { policiesWith } from './support/policies-with';

// What the MCP server lists for an agent: the tasks Cedar, evaluating partially with everything about the proposal
// unknown, does not definitely deny. It must never hide a task some proposal could be allowed.
const registry = createDefaultRegistry();
const shapes = registry.policyShapes();
const people = loadDevConfig().approvers;
const agents = ['support-bot', 'ops-bot', 'rogue-bot'].map((name) => ({ name }));
const engine = CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), shapes, people, agents);
const riskOf = (task: string) => registry.get(task).risk;
const shown = (agent: string, user: string | undefined, preview = false) =>
  registry
    .names()
    .filter((task) => engine.mayEverAllow({ agent, user, task, risk: riskOf(task), preview }))
    .sort();

test('the shipped policies: each agent is shown the tasks some policy lets it do, and nothing else', () => {
  const support = ['billing.refund_charge', 'crm.add_note_to_customer', 'crm.update_customer', 'support.send_email'];
  expect(shown('support-bot', 'alice')).toEqual(support);
  expect(shown('support-bot', 'alice', true)).toEqual(support);
  // Acting for anyone but alice, support-bot may do nothing; an unregistered agent neither.
  expect(shown('support-bot', 'mallory')).toEqual([]);
  expect(shown('support-bot', undefined)).toEqual([]);
  expect(shown('rogue-bot', 'alice')).toEqual([]);
  // ops-bot needs an approval for every parameter it sets: still a task it may do.
  expect(shown('ops-bot', undefined)).toEqual(['ops.set_parameter']);
  expect(shown('ops-bot', undefined, true)).toEqual(['ops.set_parameter']);
});

test('a forbid that always applies hides the task; one that depends on the proposal does not', () => {
  const dir = policiesWith(`
@id("no-refunds-by-support-bot")
forbid (principal == Airlock::Agent::"support-bot", action == Airlock::Action::"billing.refund_charge", resource);

@id("no-notes-over-100-chars")
forbid (principal, action == Airlock::Action::"crm.add_note_to_customer", resource)
when { context.approvals > 100 };
`);
  const strict = CedarPolicyEngine.load(dir, shapes, people, agents);
  const tasks = registry
    .names()
    .filter((task) => strict.mayEverAllow({ agent: 'support-bot', user: 'alice', task, risk: riskOf(task) }));
  expect(tasks.sort()).toEqual(['crm.add_note_to_customer', 'crm.update_customer', 'support.send_email']);
});

test('property: whenever policy allows a proposal, its task was shown to that agent', () => {
  const tasks = registry.names();
  const factValue = (type: string) =>
    type === 'Long'
      ? fc.integer({ min: 0, max: 1_000_000 })
      : type === 'Bool'
        ? fc.boolean()
        : type === 'Set<String>'
          ? fc.subarray(['phone', 'tier', 'email', 'name'])
          : fc.constantFrom('example.com', 'evil.test', 'usd', 'eur', 'x');
  const factsFor = (types: Record<string, string> = {}) =>
    fc.record(Object.fromEntries(Object.entries(types).map(([k, t]) => [k, factValue(t)])));
  const figures = fc.record({ count: fc.nat(50), total: fc.nat(1_000_000) });
  const proposal = fc.constantFrom(...tasks).chain((task) => {
    const shape = shapes.find((s) => s.name === task)!;
    return fc.record({
      task: fc.constant(task),
      agent: fc.constantFrom('support-bot', 'ops-bot', 'rogue-bot'),
      user: fc.constantFrom('alice', 'mallory', undefined),
      facts: factsFor(shape.facts),
      plan: factsFor(shape.planFacts),
      recent: fc.record({ agent: figures, user: figures, task: figures }),
    });
  });
  let allowed = 0;
  fc.assert(
    fc.property(proposal, (p) => {
      const risk = riskOf(p.task);
      const decision = engine.decideProposal({ ...p, risk, target: 'demo-crm:customer/C-1001' });
      if (decision.decision === 'allow') {
        allowed++;
        expect(engine.mayEverAllow({ agent: p.agent, user: p.user, task: p.task, risk })).toBe(true);
      }
    }),
    { numRuns: 300 },
  );
  // The property said something: some proposals were allowed.
  expect(allowed).toBeGreaterThan(20);
});
