/**
 * A decision signed with a passkey is checked by two implementations: the workflow's pure one (noble) and the
 * worker's (@simplewebauthn/server). They must agree on every assertion: the genuine one verifies in both, and each
 * forgery an attacker could try fails in both.
 */
import fc from 'fast-check';
import { readPasskey } from '../config/passkeys';
import { fromBase64Url, toBase64Url } from '../common/base64';
import {
  encodePasskeySignature,
  parsePasskeySignature,
  passkeyChallenge,
  verifyPasskeyAssertion,
  type PasskeyAssertion,
} from '../common/webauthn-assertion';
import { signedText } from '../common/signing';
import { checkDecisionShape } from '../common/approval-rules';
import { verifyPasskeyResponse } from '../crypto/verify-passkey';
import type { DecisionPayload } from '../common/types';
import { SoftPasskey } from './support/soft-passkey';

const ORIGIN = 'http://localhost:7070';
const passkey = new SoftPasskey('localhost', ORIGIN);
const registered = readPasskey(passkey.entry(), 'bob');
const other = readPasskey(new SoftPasskey('localhost', ORIGIN).entry(), 'carol');

const payload: DecisionPayload = {
  approver: 'bob',
  actionId: `act-${'a'.repeat(24)}`,
  runId: '0123456789abcdef-0123',
  planHash: 'b'.repeat(64),
  decision: 'approve',
  reason: 'looks right',
  time: '2026-11-26T05:00:00.000Z',
  nonce: 'n'.repeat(32),
};
const text = signedText('airlock.decision.v1', payload);
const challenge = passkeyChallenge(text);

async function both(a: PasskeyAssertion, credential = registered) {
  const pure = verifyPasskeyAssertion(text, a, credential);
  const library = await verifyPasskeyResponse(challenge, a, credential);
  return { pure: pure.valid, library: library.valid, why: pure.valid ? '' : pure.why };
}

const flip = (b64: string, at: number) => {
  const bytes = fromBase64Url(b64) as Uint8Array;
  bytes[at % bytes.length] ^= 0x01;
  return toBase64Url(bytes);
};

describe('passkey assertions over a decision', () => {
  test('a genuine assertion verifies in both implementations, and its counter is read', async () => {
    const a = passkey.assert(challenge, { counter: 41 });
    expect(await both(a)).toEqual({ pure: true, library: true, why: '' });
    expect(verifyPasskeyAssertion(text, a, registered)).toEqual({ valid: true, counter: 41 });
    expect(await verifyPasskeyResponse(challenge, a, registered)).toEqual({ valid: true, counter: 41 });
  });

  test('the signature field round-trips, and a decision signed with it has the right shape', () => {
    const signed = passkey.signDecision(payload);
    expect(parsePasskeySignature(signed.signature)).toBeDefined();
    expect(checkDecisionShape(signed).ok).toBe(true);
    const broken = { ...signed, signature: `${signed.signature}.extra` };
    expect(checkDecisionShape(broken)).toMatchObject({ ok: false, code: 'malformed' });
  });

  const forgeries: [string, (a: PasskeyAssertion) => PasskeyAssertion, (PasskeyAssertion | undefined)?][] = [
    ['another challenge (another decision)', () => passkey.assert(passkeyChallenge(`${text} `))],
    ['another origin (a phishing page)', () => passkey.assert(challenge, { origin: 'http://localhost:7071' })],
    ['another relying party', () => passkey.assert(challenge, { rpId: 'evil.example' })],
    ['a registration, not an assertion', () => passkey.assert(challenge, { type: 'webauthn.create' })],
    ['made inside a frame', () => passkey.assert(challenge, { crossOrigin: true })],
    ['user not present', () => passkey.assert(challenge, { flags: 0x04 })],
    ['user present but not verified', () => passkey.assert(challenge, { flags: 0x01 })],
    ['authenticator data altered', (a) => ({ ...a, authenticatorData: flip(a.authenticatorData, 36) })],
    ['client data altered', (a) => ({ ...a, clientDataJSON: flip(a.clientDataJSON, 20) })],
    ['signature altered', (a) => ({ ...a, signature: flip(a.signature, 40) })],
    ['another credential id', (a) => ({ ...a, credentialId: other.id })],
  ];
  test.each(forgeries)('refused by both: %s', async (_what, forge) => {
    const result = await both(forge(passkey.assert(challenge)));
    expect(result).toMatchObject({ pure: false, library: false });
  });

  test("refused by both: a genuine assertion checked against another person's passkey", async () => {
    const a = { ...passkey.assert(challenge), credentialId: other.id };
    expect(await both(a, other)).toMatchObject({ pure: false, library: false });
  });

  test('any single changed byte of the signed parts is refused by both', async () => {
    const genuine = passkey.assert(challenge);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<keyof PasskeyAssertion>('authenticatorData', 'clientDataJSON', 'signature'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (part, at, mask) => {
          const bytes = fromBase64Url(genuine[part]) as Uint8Array;
          bytes[at % bytes.length] ^= mask;
          const result = await both({ ...genuine, [part]: toBase64Url(bytes) });
          expect(result.pure).toBe(false);
          expect(result.library).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a signature re-encoded leniently (its DER length byte changed) is refused by both (found by the property above)', async () => {
    const genuine = passkey.assert(challenge);
    const bytes = fromBase64Url(genuine.signature) as Uint8Array;
    bytes[1] ^= 96;
    expect(await both({ ...genuine, signature: toBase64Url(bytes) })).toMatchObject({ pure: false, library: false });
  });

  test('the encoded signature stays well within the decision size limit', () => {
    const s = encodePasskeySignature(passkey.assert(challenge));
    expect(s.length).toBeLessThan(1000);
  });
});
