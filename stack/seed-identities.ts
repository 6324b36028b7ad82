import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSigningKey, loadSigningKey, publicKeyText } from '../crypto/signing-keys';

/** Makes sure `name` has a key in `keysDir` (creating it if missing, keeping it if there) and returns its public key. */
function ensureKey(keysDir: string, name: string): string {
  return existsSync(join(keysDir, `${name}.key`))
    ? publicKeyText(createPublicKey(loadSigningKey(name, keysDir)))
    : createSigningKey(name, keysDir).publicKey;
}

/** The passkeys people enrolled in an approvers file, by name, so that writing the file again keeps them. */
function enrolledPasskeys(file: string): Map<string, unknown[]> {
  if (!existsSync(file)) return new Map();
  try {
    const { approvers } = JSON.parse(readFileSync(file, 'utf8')) as {
      approvers?: { name: string; passkeys?: unknown[] }[];
    };
    return new Map((approvers ?? []).flatMap((a) => (a.passkeys?.length ? [[a.name, a.passkeys] as const] : [])));
  } catch {
    return new Map();
  }
}

/**
 * Makes sure each person and each agent has a key in `keysDir` and writes the approvers file (people, public keys,
 * groups, and the passkeys they enrolled before) and the agents file (agents, public keys, owners). Used by
 * `npm start` and the tests.
 */
export function seedIdentities(
  keysDir: string,
  files: { approversFile: string; agentsFile: string },
  people: readonly { name: string; groups: string[]; email?: string }[],
  agents: readonly { name: string; owners: string[] }[],
): void {
  const passkeys = enrolledPasskeys(files.approversFile);
  const approvers = people.map(({ name, groups, email }) => ({
    name,
    publicKey: ensureKey(keysDir, name),
    groups,
    ...(email ? { email } : {}),
    ...(passkeys.has(name) ? { passkeys: passkeys.get(name) } : {}),
  }));
  const registered = agents.map(({ name, owners }) => ({ name, publicKey: ensureKey(keysDir, name), owners }));
  mkdirSync(dirname(files.approversFile), { recursive: true });
  writeFileSync(files.approversFile, `${JSON.stringify({ approvers }, null, 2)}\n`);
  mkdirSync(dirname(files.agentsFile), { recursive: true });
  writeFileSync(files.agentsFile, `${JSON.stringify({ agents: registered }, null, 2)}\n`);
}
