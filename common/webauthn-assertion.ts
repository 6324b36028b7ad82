/**
 * Decisions signed with a passkey (WebAuthn), checked in pure JavaScript so the workflow's update validator can
 * refuse a forged one before history, exactly as it refuses a forged Ed25519 signature. The worker's activities check
 * the same assertion again with a second implementation (@simplewebauthn/server), and `executeAction` once more.
 * Workflow-safe: no I/O, no clock, no Node built-ins.
 *
 * A passkey signs `authenticatorData ‖ sha256(clientDataJSON)`; the client data carries the challenge, and the
 * challenge is the sha-256 of the decision's signed text, so the assertion covers the decision exactly as an Ed25519
 * signature covers it (approver, action, run, plan hash, decision, reason, time, nonce).
 */
import { p256 } from '@noble/curves/nist';
import { sha256 } from '@noble/hashes/sha2';
import { fromBase64Url, toBase64Url } from './base64';

/** How a passkey signature is written in a decision's `signature` field: four base64url parts after this prefix. */
export const PASSKEY_SIGNATURE_PREFIX = 'webauthn.v1:';
/** Longest client data a decision may carry (browsers write about 150 bytes). */
const MAX_CLIENT_DATA_BYTES = 1024;
const B64URL = '[A-Za-z0-9_-]';
const PASSKEY_SIGNATURE = new RegExp(
  `^webauthn\\.v1:(${B64URL}{16,342})\\.(${B64URL}{49,400})\\.(${B64URL}{40,1366})\\.(${B64URL}{10,100})$`,
);

/** One registered passkey, as the workflow checks it. */
export interface PasskeyCredential {
  /** The credential id (base64url), as the browser reports it. */
  id: string;
  /** The P-256 public key as an uncompressed point (65 bytes), base64url. */
  publicKey: string;
  /** The relying party it was registered for (the inbox's host name). */
  rpId: string;
  /** The one origin (scheme, host, port) the inbox serves it from. */
  origin: string;
}

/** The parts of a WebAuthn assertion, base64url each. */
export interface PasskeyAssertion {
  credentialId: string;
  authenticatorData: string;
  clientDataJSON: string;
  signature: string;
}

/** What a verified assertion tells beyond "valid": its signature counter, for the clone check. */
export type PasskeyVerdict = { valid: true; counter: number } | { valid: false; why: string };

const encoder = new TextEncoder();

/** The WebAuthn challenge for a signed text: its sha-256, base64url. The browser signs over this. */
export function passkeyChallenge(text: string): string {
  return toBase64Url(sha256(encoder.encode(text)));
}

/** Whether a decision's signature is a passkey assertion (rather than an Ed25519 signature). */
export function isPasskeySignature(signature: string): boolean {
  return signature.startsWith(PASSKEY_SIGNATURE_PREFIX);
}

/** Writes an assertion as a decision's `signature`. */
export function encodePasskeySignature(a: PasskeyAssertion): string {
  return `${PASSKEY_SIGNATURE_PREFIX}${a.credentialId}.${a.authenticatorData}.${a.clientDataJSON}.${a.signature}`;
}

/** Reads a decision's `signature` as an assertion, or undefined when it is not one of the right shape. */
export function parsePasskeySignature(signature: string): PasskeyAssertion | undefined {
  const m = PASSKEY_SIGNATURE.exec(signature);
  if (!m) return undefined;
  return { credentialId: m[1], authenticatorData: m[2], clientDataJSON: m[3], signature: m[4] };
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Authenticator data flags (WebAuthn §6.1). */
const USER_PRESENT = 0x01;
const USER_VERIFIED = 0x04;

/**
 * Verifies a passkey assertion over `text` against one registered credential, as WebAuthn §7.2 asks of a relying
 * party: the client data is a `webauthn.get` for exactly this text's challenge, from the credential's origin and not
 * from a frame of another; the authenticator data is for the credential's relying party, with the user present and
 * verified (a passkey unlocked by its owner, not merely touched); the ES256 signature verifies over both. The
 * signature counter is returned for the caller's clone check, which needs what came before.
 */
export function verifyPasskeyAssertion(
  text: string,
  assertion: PasskeyAssertion,
  credential: PasskeyCredential,
): PasskeyVerdict {
  const no = (why: string): PasskeyVerdict => ({ valid: false, why });
  if (assertion.credentialId !== credential.id) return no('the assertion is by another credential');
  const authData = fromBase64Url(assertion.authenticatorData);
  const clientBytes = fromBase64Url(assertion.clientDataJSON);
  const signature = fromBase64Url(assertion.signature);
  const publicKey = fromBase64Url(credential.publicKey);
  if (!authData || !clientBytes || !signature || !publicKey) return no('a part is not base64url');
  if (clientBytes.length > MAX_CLIENT_DATA_BYTES) return no('the client data is too long');
  let client: unknown;
  try {
    client = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(clientBytes));
  } catch {
    return no('the client data is not JSON');
  }
  if (!client || typeof client !== 'object') return no('the client data is not an object');
  const c = client as Record<string, unknown>;
  if (c.type !== 'webauthn.get') return no('the client data is not of an assertion');
  if (c.challenge !== passkeyChallenge(text)) return no('the assertion signs another challenge');
  if (c.origin !== credential.origin) return no('the assertion was made on another origin');
  if (c.crossOrigin === true || c.topOrigin !== undefined) return no('the assertion was made inside a frame');
  if (authData.length < 37) return no('the authenticator data is too short');
  if (!equalBytes(authData.subarray(0, 32), sha256(encoder.encode(credential.rpId))))
    return no('the assertion is for another relying party');
  const flags = authData[32];
  if (!(flags & USER_PRESENT)) return no('the user was not present');
  if (!(flags & USER_VERIFIED)) return no('the user was not verified');
  const counter = ((authData[33] << 24) | (authData[34] << 16) | (authData[35] << 8) | authData[36]) >>> 0;
  const signed = new Uint8Array(authData.length + 32);
  signed.set(authData);
  signed.set(sha256(clientBytes), authData.length);
  try {
    const ok = p256.verify(signature, signed, publicKey, { prehash: true, lowS: false, format: 'der' });
    return ok ? { valid: true, counter } : no('the signature does not verify');
  } catch {
    return no('the signature does not verify');
  }
}
