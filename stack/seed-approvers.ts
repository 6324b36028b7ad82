import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createApproverKey, loadApproverKey, publicKeyText } from '../lib/approver-keys';

/**
 * Makes sure each person has a key in `keysDir` (creating missing ones, keeping existing ones) and writes the
 * approvers file with their public keys and groups. Used by `npm start` and the tests.
 */
export function seedApprovers(keysDir: string, approversFile: string, people: readonly { name: string; groups: string[] }[]): void {
  const approvers = people.map(({ name, groups }) => {
    const publicKey = existsSync(join(keysDir, `${name}.key`))
      ? publicKeyText(createPublicKey(loadApproverKey(name, keysDir)))
      : createApproverKey(name, keysDir).publicKey;
    return { name, publicKey, groups };
  });
  mkdirSync(dirname(approversFile), { recursive: true });
  writeFileSync(approversFile, `${JSON.stringify({ approvers }, null, 2)}\n`);
}
