import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../common/errors';
import { PRINCIPAL_ID } from '../common/identifiers';
import { signedText, type SignaturePurpose } from '../common/signing';

/**
 * Ed25519 signing keys of people (who sign decisions) and agents (who sign proposals). Private keys stay in a
 * keys directory on the signer's machine; only public keys are registered with Airlock.
 */

/** Where private keys live: `AIRLOCK_KEYS_DIR`, else `~/.airlock/keys`. */
export function keysDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AIRLOCK_KEYS_DIR ?? join(homedir(), '.airlock', 'keys');
}

/** The text form of a public key: `ed25519:` + base64 of its SPKI DER. */
export function publicKeyText(key: KeyObject): string {
  return `ed25519:${key.export({ type: 'spki', format: 'der' }).toString('base64')}`;
}

/** The raw 32-byte Ed25519 public key, base64: what the workflow's own (pure JS) signature check takes. */
export function rawPublicKey(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
}

/** Parses `ed25519:<base64 SPKI DER>`; throws ConfigError naming the key's owner when malformed. */
export function parsePublicKey(text: string, who: string): KeyObject {
  const m = /^ed25519:([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m)
    throw new ConfigError(
      `Public key of ${who} is not of the form ed25519:<base64>; copy it as \`airlock keys new\` printed it.`,
    );
  try {
    const key = createPublicKey({ key: Buffer.from(m[1], 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    return key;
  } catch (err) {
    throw new ConfigError(`Public key of ${who} is not an Ed25519 public key (${(err as Error).message}).`);
  }
}

/**
 * Creates an Ed25519 key pair for a person or an agent: the private key as PKCS#8 PEM, mode 0600, in `dir`.
 * Refuses to overwrite an existing key, so a typo cannot destroy an identity.
 * @returns the public key text to register (in the approvers file or the agents file).
 */
export function createSigningKey(name: string, dir = keysDir()): { publicKey: string; privateKeyPath: string } {
  if (!PRINCIPAL_ID.test(name)) throw new ConfigError(`Key name "${name}" must be 2–64 of letters, digits, +=,.@_-.`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(dir, `${name}.key`);
  if (existsSync(privateKeyPath)) {
    throw new ConfigError(
      `A key for ${name} already exists at ${privateKeyPath}; remove it first if you really mean to replace it.`,
    );
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(privateKeyPath, 0o600); // a umask must not loosen it
  const text = publicKeyText(publicKey);
  writeFileSync(join(dir, `${name}.pub`), `${text}\n`, { mode: 0o644 });
  return { publicKey: text, privateKeyPath };
}

/** Loads a private key from the keys directory. */
export function loadSigningKey(name: string, dir = keysDir()): KeyObject {
  if (!PRINCIPAL_ID.test(name)) throw new ConfigError(`Key name "${name}" must be 2–64 of letters, digits, +=,.@_-.`);
  const path = join(dir, `${name}.key`);
  if (!existsSync(path)) {
    throw new ConfigError(
      `No private key for ${name} in ${dir}. Create one with \`airlock keys new ${name}\` and register its public key, or set AIRLOCK_KEYS_DIR.`,
    );
  }
  return createPrivateKey(readFileSync(path));
}

/** Signs a payload for a purpose (see {@link signedText}); returns base64. */
export function signPayload(purpose: SignaturePurpose, payload: unknown, key: KeyObject): string {
  return sign(null, Buffer.from(signedText(purpose, payload)), key).toString('base64');
}

/** Verifies a base64 signature over a payload for a purpose. Never throws. */
export function verifyPayload(purpose: SignaturePurpose, payload: unknown, signature: string, key: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(signedText(purpose, payload)), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
