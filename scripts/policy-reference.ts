// Writes the README's policy reference (facts per task, shipped policies) from the registry and policies/.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import { policyReference, withReference } from '../policy/policy-reference';
import { REPO_ROOT } from '../stack/dev-config';
import { createDefaultRegistry } from '../tasks';

const registry = createDefaultRegistry();
const engine = CedarPolicyEngine.load(join(REPO_ROOT, 'policies'), registry.policyShapes());
const file = join(REPO_ROOT, 'README.md');
writeFileSync(file, withReference(readFileSync(file, 'utf8'), policyReference(registry, engine)));
console.log('README.md: policy reference written');
