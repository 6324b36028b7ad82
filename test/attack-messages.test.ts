import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { decideUpdate } from '../common/messages';
import { MAX_REFUSALS_PER_PERSON } from '../common/approval-rules';
import type { ActionState, DecisionPayload, SignedDecision } from '../common/types';
import { JsonlAuditLog } from '../audit/audit-log';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { startHarness, type Harness } from './support/harness';
import { testEnv } from './support/test-env';
import { decisionPayload, signDecision } from './support/decisions';

// Point 3 of the security issue: no message can wedge, hide or lock out an action. Anyone can send the `decide`
// Update; junk must be refused before history (and counted), the state must stay small, and after every flood a
// real approval must still be accepted, the action complete exactly once, and its audit record be written.
jest.setTimeout(180_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A pending high-risk update (one approval) of `customerId`. */
async function pending(customerId: string, tier: string): Promise<ActionState> {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId, changes: { tier } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  return h.airlock.get(id);
}

const payloadFor = decisionPayload;
const signedBy = (who: string, payload: DecisionPayload): SignedDecision => signDecision(payload, who, h.keysDir);

/** Sends an update as any client can, answering with its refusal code, or "accepted"/"refused" if it reached history. */
async function send(client: Client, id: string, signed: unknown): Promise<string> {
  try {
    const attempt = await client.workflow
      .getHandle(id)
      .executeUpdate(decideUpdate, { args: [signed as SignedDecision] });
    return attempt.accepted ? 'accepted' : `recorded:${attempt.refusal?.code}`;
  } catch (err) {
    const cause = (err as { cause?: { type?: string } }).cause;
    return cause?.type ?? `error:${(err as Error).message}`;
  }
}

/** After the flood: the real approval is accepted, the action runs once, and its audit record is written and small. */
async function stillWorks(s: ActionState, customerId: string, tier: string): Promise<ActionState> {
  const writes = h.crm.store.writes;
  const real = await h.decide(s.id, 'bob', 'approve', { planHash: s.plan!.hash });
  expect(real.accepted).toBe(true);
  const final = await h.airlock.result(s.id);
  expect(final.status).toBe('succeeded');
  expect(h.crm.store.customers.get(customerId)?.tier).toBe(tier);
  expect(h.crm.store.writes).toBe(writes + 1);
  const records = new JsonlAuditLog(h.auditLogPath).read().filter((r) => r.actionId === s.id);
  expect(records.map((r) => [r.kind, r.status])).toEqual([
    ['execution', 'executing'],
    ['final', 'succeeded'],
  ]);
  expect(JSON.stringify(records[1]).length).toBeLessThan(64 * 1024);
  expect(JSON.stringify(final).length).toBeLessThan(64 * 1024);
  return final;
}

/** The decide updates that reached the run's history. */
async function updatesInHistory(id: string): Promise<number> {
  const events = (await h.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  return events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

test('two unsigned 1.1 MB decisions sent while the action plans are refused before history; it completes and is audited', async () => {
  const planning = h.crm.slowReads(1500, 2); // the plan's two reads: the action sits in planning
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1001', changes: { tier: 'silver' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await planning;
  const huge = 'x'.repeat(1_100_000);
  const placeholder = {
    id,
    runId: (await h.client.workflow.getHandle(id).describe()).runId,
    plan: { hash: '0'.repeat(64) },
  } as ActionState;
  const answers = await Promise.all([
    send(h.client, id, { payload: payloadFor(placeholder, 'bob', { reason: huge }), signature: 'AA==' }),
    send(h.client, id, { payload: payloadFor(placeholder, 'bob'), signature: huge }),
  ]);
  expect(answers).toEqual(['oversized', 'oversized']);
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const s = await h.airlock.get(id);
  expect(s.refusedBeforeHistory).toEqual({ total: 2, byCode: { oversized: 2 } });
  expect(await updatesInHistory(id)).toBe(0);
  const final = await stillWorks(s, 'C-1001', 'silver');
  expect(final.refusedBeforeHistory.total).toBe(2);
  const finished = new JsonlAuditLog(h.auditLogPath).find(id, final.runId, 'final')[0].events.at(-1) as {
    data: { refusedBeforeHistory: unknown };
  };
  expect(finished.data.refusedBeforeHistory).toEqual({ total: 2, byCode: { oversized: 2 } });
});

test('2,000 junk decisions (malformed, unsigned, forged) do not reach history nor the update limit; then the real approval is accepted', async () => {
  const s = await pending('C-1002', 'gold');
  const junk = (i: number): unknown => {
    switch (i % 4) {
      case 0:
        return { payload: payloadFor(s, 'bob'), signature: randomBytes(64).toString('base64') }; // forged signature
      case 1:
        return { payload: payloadFor(s, 'eve'), signature: randomBytes(64).toString('base64') }; // nobody's key
      case 2:
        return { hello: 'world', n: i }; // not a decision at all
      default:
        return { payload: { ...payloadFor(s, 'bob'), extra: 'field' }, signature: 'AA==' };
    }
  };
  const answers: string[] = [];
  let next = 0;
  // Eight at a time: Temporal allows ten updates in flight per run.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 2000) answers.push(await send(h.client, s.id, junk(next++)));
    }),
  );
  expect(answers).toHaveLength(2000);
  const counts = answers.reduce<Record<string, number>>((acc, a) => ({ ...acc, [a]: (acc[a] ?? 0) + 1 }), {});
  expect(counts).toEqual({ bad_signature: 500, unknown_key: 500, malformed: 1000 });
  expect(await updatesInHistory(s.id)).toBe(0);
  expect((await h.airlock.get(s.id)).refusedBeforeHistory).toEqual({
    total: 2000,
    byCode: { bad_signature: 500, unknown_key: 500, malformed: 1000 },
  });
  await stillWorks(s, 'C-1002', 'gold');
});

test('a decision encoded with a foreign key, or not encoded at all, is refused as undecodable; the action is not wedged', async () => {
  const s = await pending('C-1003', 'silver');
  const foreign = new Client({
    connection: h.client.connection,
    namespace: testEnv('namespace'),
    dataConverter: airlockDataConverter(parseCodecKeys(newCodecKeyFile('k9'), 'foreign')),
  });
  const plain = new Client({ connection: h.client.connection, namespace: testEnv('namespace') });
  const signed = signedBy('bob', payloadFor(s, 'bob'));
  // The sender cannot even read the refusal (it is encrypted with Airlock's keys); the action counts it.
  for (const client of [foreign, plain])
    expect(await send(client, s.id, signed)).toMatch(/^(undecodable|error:.*(does not have|encoding))/);
  expect(await updatesInHistory(s.id)).toBe(0);
  expect((await h.airlock.get(s.id)).refusedBeforeHistory).toEqual({ total: 2, byCode: { undecodable: 2 } });
  await stillWorks(s, 'C-1003', 'silver');
});

test('a registered person flooding signed attempts leaves at most a few in history; a replay is refused before it; bob still approves', async () => {
  const s = await pending('C-1004', 'silver');
  const answers: string[] = [];
  for (let i = 0; i < 10; i++)
    answers.push((await h.decide(s.id, 'mallory', 'approve', { planHash: s.plan!.hash })).refusal?.code ?? 'accepted');
  expect(answers).toEqual([
    ...Array(MAX_REFUSALS_PER_PERSON).fill('not_permitted'),
    ...Array(10 - MAX_REFUSALS_PER_PERSON).fill('too_many_attempts'),
  ]);
  // bob's decision, delivered twice: the second is a replay.
  const signed = signedBy('bob', payloadFor(s, 'bob', { decision: 'reject', reason: 'wrong tier' }));
  const first = await send(h.client, s.id, {
    payload: { ...signed.payload, planHash: '1'.repeat(64) },
    signature: signed.signature,
  });
  expect(first).toBe('bad_signature'); // the plan hash was changed after signing
  expect(await updatesInHistory(s.id)).toBe(MAX_REFUSALS_PER_PERSON);
  const state = await h.airlock.get(s.id);
  expect(state.approvals.map((a) => a.refusal?.code)).toEqual(Array(MAX_REFUSALS_PER_PERSON).fill('not_permitted'));
  expect(state.refusedBeforeHistory.byCode).toEqual({
    too_many_attempts: 10 - MAX_REFUSALS_PER_PERSON,
    bad_signature: 1,
  });
  await stillWorks(s, 'C-1004', 'silver');
});

test('the same signed decision sent twice at once is judged once', async () => {
  const s = await pending('C-1005', 'gold');
  const signed = signedBy('bob', payloadFor(s, 'bob'));
  const answers = (await Promise.all([send(h.client, s.id, signed), send(h.client, s.id, signed)])).sort();
  // The second is a replay, or arrives when the action already executes: refused before history either way.
  expect(answers[0]).toBe('accepted');
  expect(['not_awaiting_approval', 'replayed_nonce']).toContain(answers[1]);
  const final = await h.airlock.result(s.id);
  expect(final.status).toBe('succeeded');
  expect(final.approvedBy).toEqual(['bob']);
});

test('decisions copied from other actions’ histories neither reach this one’s history nor use up an approver’s attempts', async () => {
  const other = await pending('C-1001', 'bronze');
  const s = await pending('C-1003', 'gold');
  // bob's genuine signatures, for the other action: anyone holding the codec key can read them from its history.
  const copied = Array.from({ length: 5 }, () => signedBy('bob', payloadFor(other, 'bob', { planHash: s.plan!.hash })));
  const answers = [];
  for (const signed of copied) answers.push(await send(h.client, s.id, signed));
  expect(answers).toEqual(Array(5).fill('wrong_action'));
  expect(await updatesInHistory(s.id)).toBe(0);
  await stillWorks(s, 'C-1003', 'gold');
});
