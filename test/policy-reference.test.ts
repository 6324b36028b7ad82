import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import { policyReference, withReference } from '../policy/policy-reference';
import { REPO_ROOT } from '../stack/dev-config';
import { createDefaultRegistry } from '../tasks';

// The README's table of facts and shipped policies is generated: a task's new fact or a changed policy without
// `npm run docs:policy` fails here, so the README cannot tell readers something the code does not do.
test('the README’s policy reference is the one the registry and the policies generate', () => {
  const registry = createDefaultRegistry();
  const engine = CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), registry.policyShapes());
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const reference = policyReference(registry, engine);
  expect(withReference(readme, reference)).toBe(readme);
  // And it says what matters: every fact of every task, and every shipped policy.
  for (const task of registry.tasks())
    for (const name of [...Object.keys(task.facts?.types ?? {}), ...Object.keys(task.planFacts?.types ?? {})])
      expect(reference).toContain(`.${name}\``);
  for (const p of engine.describePolicies()) expect(reference).toContain(`\`${p.id}\``);
});
