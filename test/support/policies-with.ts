import { cpSync, mkdtempSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../stack/dev-config';

/** A copy of the repository's policies directory with extra Cedar policies appended, for one test file. */
export function policiesWith(extraPolicies: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-policies-'));
  cpSync(join(REPO_ROOT, 'policies'), dir, { recursive: true });
  appendFileSync(join(dir, 'policies.cedar'), `\n${extraPolicies}\n`);
  return dir;
}
