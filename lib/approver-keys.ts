import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../common/errors';
import { canonicalJson } from './canonical-json';

/** Where an approver's private keys live: `AIRLOCK_KEYS_DIR`, else `~/.airlock/keys`. */
export function keysDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AIRLOCK_KEYS_DIR ?? join(homedir(), '.airlock', 'keys');
}

const NAME = /^[\w+=,.@-]{2,64}$/;

/** The text form of a public key: `ed25519:` + base64 of its SPKI DER. */
export function publicKeyText(key: KeyObject): string {
  return `ed25519:${key.export({ type: 'spki', format: 'der' }).toString('base64')}`;
}

/** Parses `ed25519:<base64 SPKI DER>`; throws ConfigError naming the approver when malformed. */
export function parsePublicKey(text: string, who: string): KeyObject {
  const m = /^ed25519:([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m) throw new ConfigError(`Public key of ${who} is not of the form ed25519:<base64>; copy it as \`airlock keys new\` printed it.`);
  try {
    const key = createPublicKey({ key: Buffer.from(m[1], 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    return key;
  } catch (err) {
    throw new ConfigError(`Public key of ${who} is not an Ed25519 public key (${(err as Error).message}).`);
  }
}

/**
 * Creates an Ed25519 key pair for an approver: the private key as PKCS#8 PEM, mode 0600, in `dir`.
 * Refuses to overwrite an existing key, so a typo cannot destroy an identity.
 * @returns the public key text to register in the approvers file.
 */
export function createApproverKey(name: string, dir = keysDir()): { publicKey: string; privateKeyPath: string } {
  if (!NAME.test(name)) throw new ConfigError(`Approver name "${name}" must be 2–64 of letters, digits, +=,.@_-.`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(dir, `${name}.key`);
  if (existsSync(privateKeyPath)) {
    throw new ConfigError(`A key for ${name} already exists at ${privateKeyPath}; remove it first if you really mean to replace it.`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(privateKeyPath, 0o600); // a umask must not loosen it
  const text = publicKeyText(publicKey);
  writeFileSync(join(dir, `${name}.pub`), `${text}\n`, { mode: 0o644 });
  return { publicKey: text, privateKeyPath };
}

/** Loads an approver's private key from the keys directory. */
export function loadApproverKey(name: string, dir = keysDir()): KeyObject {
  const path = join(dir, `${name}.key`);
  if (!existsSync(path)) {
    throw new ConfigError(`No private key for ${name} in ${dir}. Create one with \`airlock keys new ${name}\` and register its public key, or set AIRLOCK_KEYS_DIR.`);
  }
  return createPrivateKey(readFileSync(path));
}

/** Signs the canonical JSON of a payload; returns base64. */
export function signPayload(payload: unknown, key: KeyObject): string {
  return sign(null, Buffer.from(canonicalJson(payload)), key).toString('base64');
}

/** Verifies a base64 signature over the canonical JSON of a payload. */
export function verifyPayload(payload: unknown, signature: string, key: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(canonicalJson(payload)), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
