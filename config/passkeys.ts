import { z } from 'zod';
import { cose, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import { ConfigError } from '../common/errors';
import { fromBase64Url, toBase64Url } from '../common/base64';
import type { PasskeyCredential } from '../common/webauthn-assertion';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A passkey as the approvers file keeps it, next to the person's Ed25519 key. */
export const PasskeyEntrySchema = z.strictObject({
  /** The credential id, base64url. */
  id: z.string().regex(BASE64URL).min(16).max(342),
  /** The COSE public key the authenticator registered, base64url (ES256 only). */
  publicKey: z.string().regex(BASE64URL).max(1024),
  /** The relying party: the inbox's host name. */
  rpId: z.string().min(1).max(253),
  /** The inbox's origin, e.g. https://airlock.example.com. */
  origin: z.string().url().max(300),
  /** When it was enrolled (ISO 8601). */
  addedAt: z.string().max(40),
  /** The authenticator's model (AAGUID), when it said. */
  aaguid: z.string().max(40).optional(),
});

/** A passkey in the approvers file. */
export type PasskeyEntry = z.output<typeof PasskeyEntrySchema>;

/** A registered passkey: the workflow's view of it, and the COSE key the worker's second check uses. */
export interface RegisteredPasskey extends PasskeyCredential {
  /** The COSE public key, base64url, as registered. */
  cose: string;
}

/**
 * Reads a passkey entry: its COSE key must be an ES256 (P-256) key, the one algorithm the workflow verifies.
 * Throws ConfigError naming the person when it is not.
 */
export function readPasskey(entry: PasskeyEntry, who: string): RegisteredPasskey {
  const bad = (what: string) =>
    new ConfigError(`The passkey ${entry.id.slice(0, 16)}… of "${who}" ${what}; remove it and enrol again.`);
  const bytes = fromBase64Url(entry.publicKey);
  if (!bytes) throw bad('has a public key that is not base64url');
  let key: ReadonlyMap<number, unknown>;
  try {
    key = decodeCredentialPublicKey(bytes as Uint8Array<ArrayBuffer>) as unknown as ReadonlyMap<number, unknown>;
  } catch {
    throw bad('has a public key that is not COSE');
  }
  const x = key.get(cose.COSEKEYS.x);
  const y = key.get(cose.COSEKEYS.y);
  if (
    key.get(cose.COSEKEYS.kty) !== cose.COSEKTY.EC2 ||
    key.get(cose.COSEKEYS.alg) !== cose.COSEALG.ES256 ||
    key.get(cose.COSEKEYS.crv) !== cose.COSECRV.P256 ||
    !(x instanceof Uint8Array) ||
    !(y instanceof Uint8Array) ||
    x.length !== 32 ||
    y.length !== 32
  )
    throw bad('is not an ES256 (P-256) key');
  const point = new Uint8Array(65);
  point[0] = 4;
  point.set(x, 1);
  point.set(y, 33);
  return { id: entry.id, publicKey: toBase64Url(point), rpId: entry.rpId, origin: entry.origin, cose: entry.publicKey };
}
