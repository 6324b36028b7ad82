/**
 * Decisions signed with passkeys, sent straight to the workflow (no browser, no inbox: an attacker needs neither).
 * The workflow's validator, its handler's check and `executeAction`'s evidence check verify the WebAuthn assertion
 * against the approver's registered credential as they verify an Ed25519 signature, and count it the same.
 */
import { randomBytes } from 'node:crypto';
import { addPasskey } from '../inbox/passkey-book';
import type { DecisionPayload } from '../common/types';
import { startHarness, type Harness } from './support/harness';
import { proposeRefundNeedingTwo } from './support/refunds';
import { SoftPasskey, type AssertionOptions } from './support/soft-passkey';

const ORIGIN = 'http://localhost:8234';
let h: Harness;
const bobKey = new SoftPasskey('localhost', ORIGIN);
const carolKey = new SoftPasskey('localhost', ORIGIN);

beforeAll(async () => {
  h = await startHarness();
  addPasskey(h.approversFile, 'bob', bobKey.entry());
});
afterAll(async () => {
  await h?.close();
});

/** A refund over 20.00: two approvers. */
const refund = (chargeId: string) => proposeRefundNeedingTwo(h, chargeId);

async function payload(
  id: string,
  approver: string,
  decision: 'approve' | 'reject' = 'approve',
): Promise<DecisionPayload> {
  const s = await h.airlock.get(id);
  return {
    approver,
    actionId: id,
    runId: s.runId,
    planHash: s.plan?.hash as string,
    decision,
    ...(decision === 'reject' ? { reason: 'no' } : {}),
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString('hex'),
  };
}

const send = async (id: string, key: SoftPasskey, approver: string, o: AssertionOptions = {}, decision?: 'reject') =>
  h.airlock.decide(id, key.signDecision(await payload(id, approver, decision), o));

test('a passkey decision and an Ed25519 decision make one quorum, and execution re-verifies both', async () => {
  const id = await refund('ch_passkey0001');
  expect(await send(id, bobKey, 'bob')).toMatchObject({ accepted: true, approver: 'bob' });
  expect(await h.decide(id, 'carol')).toMatchObject({ accepted: true });
  const done = await h.airlock.result(id, { timeoutMs: 60_000 });
  expect(done.status).toBe('succeeded');
  expect(done.approvals.map((a) => a.signature.slice(0, 12))).toEqual([
    'webauthn.v1:',
    expect.not.stringMatching(/^webauthn/),
  ]);
});

test('a passkey enrolled while the action waited counts: the handler reads the registry as it is now', async () => {
  const id = await refund('ch_passkey0002');
  addPasskey(h.approversFile, 'carol', carolKey.entry());
  expect(await send(id, carolKey, 'carol')).toMatchObject({ accepted: true, approver: 'carol' });
  expect(await send(id, bobKey, 'bob')).toMatchObject({ accepted: true });
  expect((await h.airlock.result(id, { timeoutMs: 60_000 })).status).toBe('succeeded');
});

describe('forgeries are refused, and change nothing', () => {
  let id: string;
  beforeAll(async () => {
    id = await refund('ch_passkey0003');
  });
  afterAll(async () => {
    const s = await h.airlock.get(id);
    expect(s.status).toBe('awaiting_approval');
    expect(s.approvedBy).toEqual(['bob']);
  });

  test.each<[string, AssertionOptions, string]>([
    ['made on another origin (a phishing page)', { origin: 'http://localhost:9999' }, 'bad_signature'],
    ['for another relying party', { rpId: 'evil.test' }, 'bad_signature'],
    ['without user verification (a passkey merely touched)', { flags: 0x01 }, 'bad_signature'],
    ['inside a cross-origin frame', { crossOrigin: true }, 'bad_signature'],
  ])('an assertion %s, refused before history', async (_what, o, code) => {
    const attempt = await send(id, bobKey, 'bob', o);
    expect(attempt).toMatchObject({ accepted: false, recorded: false, refusal: { code } });
  });

  test("carol's passkey signing as bob is refused, and a flood of them neither stops bob nor grows history", async () => {
    // A credential the workflow does not know for bob is checked by the handler against the live registry: recorded
    // and refused, not counted against bob (anyone can name him), at most ten times in all; then refused before history.
    for (let i = 0; i < 10; i++)
      expect(await send(id, carolKey, 'bob')).toMatchObject({ accepted: false, refusal: { code: 'bad_signature' } });
    expect(await send(id, carolKey, 'bob')).toMatchObject({
      accepted: false,
      recorded: false,
      refusal: { code: 'unknown_key' },
    });
  });

  test('a counter that goes backwards (a cloned passkey) is refused', async () => {
    expect(await send(id, bobKey, 'bob', { counter: 500 })).toMatchObject({ accepted: true });
    const clone = await send(id, bobKey, 'bob', { counter: 7 }, 'reject');
    expect(clone).toMatchObject({ accepted: false, refusal: { code: 'cloned_authenticator' } });
  });
});
