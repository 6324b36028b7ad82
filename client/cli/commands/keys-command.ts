import { existsSync, readdirSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { createSigningKey, keysDir, loadSigningKey, publicKeyText } from '../../../crypto/signing-keys';
import { print } from '../cli-context';

/** `airlock keys new <name>`: creates a key pair for a person or an agent and prints the public key to register. */
export function newKeyCommand(name: string): void {
  const { publicKey, privateKeyPath } = createSigningKey(name);
  print(
    `${publicKey}\n\nPrivate key: ${privateKeyPath} (mode 0600; never share it).\n` +
      `Register the public key with the worker: for a person, in the approvers file:\n  { "name": "${name}", "publicKey": "${publicKey}", "groups": ["approvers"] }\n` +
      `for an agent, in the agents file, with the people responsible for it:\n  { "name": "${name}", "publicKey": "${publicKey}", "owners": ["<person>"] }`,
    { name, publicKey, privateKeyPath },
  );
}

/** `airlock keys list`: the keys in the keys directory (AIRLOCK_KEYS_DIR) with their public keys. */
export function listKeysCommand(): void {
  const dir = keysDir();
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.key'))
        .map((f) => f.slice(0, -4))
        .sort()
    : [];
  const rows = names.map((name) => ({ name, publicKey: publicKeyText(createPublicKey(loadSigningKey(name))) }));
  print(rows.length ? rows.map((r) => `${r.name}  ${r.publicKey}`).join('\n') : `No keys in ${dir}.`, rows);
}
