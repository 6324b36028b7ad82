/**
 * Decisions signed with passkeys, sent straight to the workflow (no browser, no inbox: an attacker needs neither).
 * The workflow's validator, its handler's check and `executeAction`'s evidence check verify the WebAuthn assertion
 * against the approver's registered credential as they verify an Ed25519 signature, and count it the same.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
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
  // This worker has no notification channel: the run scheduled no notification at all.
  const history = await h.client.workflow.getHandle(id).fetchHistory();
  const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(types).not.toContain('notify');
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

test('a passkey removed from the registry while an action waits is refused, and does not use up its owner’s attempts', async () => {
  const spare = new SoftPasskey('localhost', ORIGIN);
  addPasskey(h.approversFile, 'carol', spare.entry());
  const id = await refund('ch_passkey0004');
  // The action knew the spare passkey; it is removed (say, the laptop was stolen).
  const file = JSON.parse(readFileSync(h.approversFile, 'utf8')) as {
    approvers: { name: string; passkeys?: { id: string }[] }[];
  };
  for (const a of file.approvers) if (a.passkeys) a.passkeys = a.passkeys.filter((p) => p.id !== spare.id);
  writeFileSync(h.approversFile, JSON.stringify(file));
  // Carol has two refused attempts of her own (a plan she did not review): one more would use up her three.
  for (let i = 0; i < 2; i++) {
    const stale = { ...(await payload(id, 'carol')), planHash: 'f'.repeat(64) };
    expect(await h.airlock.decide(id, carolKey.signDecision(stale))).toMatchObject({
      refusal: { code: 'wrong_plan_hash' },
    });
  }
  expect(await send(id, spare, 'carol')).toMatchObject({ accepted: false, refusal: { code: 'bad_signature' } });
  expect(await send(id, spare, 'carol')).toMatchObject({
    accepted: false,
    recorded: false,
    refusal: { code: 'bad_signature', message: expect.stringContaining('no longer registered') },
  });
  // Carol's own passkey still decides.
  expect(await send(id, carolKey, 'carol')).toMatchObject({ accepted: true });
});

test('a malformed passkey from an enrolment is not written, and the approvers file stays readable', () => {
  const before = readFileSync(h.approversFile, 'utf8');
  const entry = new SoftPasskey('localhost', ORIGIN).entry();
  expect(() => addPasskey(h.approversFile, 'bob', { ...entry, id: 'abcd' })).toThrow(/malformed/);
  expect(() =>
    addPasskey(h.approversFile, 'bob', { ...entry, publicKey: `${entry.publicKey}${'A'.repeat(2000)}` }),
  ).toThrow(/malformed/);
  expect(() => addPasskey(h.approversFile, 'nobody', entry)).toThrow(/not in the approvers file/);
  expect(readFileSync(h.approversFile, 'utf8')).toBe(before);
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
