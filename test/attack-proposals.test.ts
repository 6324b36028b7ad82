import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { inputDigest } from '../activities/evidence';
import { actionIdFor } from '../client/action-id';
import { AirlockClient } from '../client/airlock-client';
import type { ActionState, DecisionPayload, ProposalPayload, SignedProposal } from '../common/types';
import { JsonlAuditLog } from '../audit/audit-log';
import { REPO_ROOT } from '../stack/dev-config';
import { buildIdentities } from '../config/identities';
import { loadSigningKey, publicKeyText, signPayload } from '../crypto/signing-keys';
import { TEST_AGENTS, startHarness, type Harness } from './support/harness';
import { sessionsOf } from './support/moto-sessions';
import { policiesWith } from './support/policies-with';
import { testEnv } from './support/test-env';
import { runAirlock, suiteCliEnv } from './support/cli';

// Point 2 of the security issue: agents prove who they are. A proposal is a signature by a registered agent's key
// over who, for whom, what (by digest), when and for which action; anything else ends `invalid` before policy, with
// its own issue code, and is never executed nor audited. People have one canonical id; an agent's owners and the
// user it acts for may not approve.
jest.setTimeout(120_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    agents: [...TEST_AGENTS, { name: 'bobs-bot', owners: ['Bob'] }],
    policiesDir: policiesWith(`
@id("bobs-bot-updates-customers-with-one-approval")
permit (principal == Airlock::Agent::"bobs-bot", action == Airlock::Action::"crm.update_customer", resource)
when { context.approvals >= 1 };`),
  });
});
afterAll(async () => {
  await h?.close();
});

const input = { customerId: 'C-1003', changes: { tier: 'platinum' } };

/** A proposal as the SDK signs it, with any field overridden, signed by `key` (support-bot's by default). */
function proposal(
  overrides: Partial<ProposalPayload> = {},
  key: KeyObject = loadSigningKey('support-bot', h.keysDir),
  body: unknown = input,
): SignedProposal {
  const payload: ProposalPayload = {
    actionId: actionIdFor('support-bot', undefined, key),
    agent: 'support-bot',
    user: 'alice',
    task: 'crm.update_customer',
    inputDigest: inputDigest(body),
    dryRun: false,
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString('hex'),
    ...overrides,
  };
  return { payload, input: body, signature: signPayload('airlock.proposal.v1', payload, key) };
}

/** Starts an action workflow directly, as any client of the namespace can, and waits for its end. */
async function startRaw(
  signed: unknown,
  opts: { workflowId?: string; client?: Client; reuse?: boolean } = {},
): Promise<ActionState> {
  const workflowId = opts.workflowId ?? (signed as SignedProposal).payload.actionId;
  const handle = await (opts.client ?? h.client).workflow.start('actionWorkflow', {
    taskQueue: h.taskQueue,
    workflowId,
    args: [signed],
    ...(opts.reuse ? { workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const } : {}),
  });
  return (await h.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).result()) as ActionState;
}

/** An attempt that must end invalid with `code`, before policy, minting nothing, writing nothing, auditing nothing. */
async function refused(state: ActionState, code: string): Promise<void> {
  expect(state.status).toBe('invalid');
  expect(state.issues).toEqual([expect.objectContaining({ path: ['proposal'], code })]);
  expect(state.policy).toBeUndefined();
  expect(state.transitions.map((t) => t.status)).toEqual(['validating', 'invalid']);
  expect(await sessionsOf(h.motoEndpoint, state.id)).toEqual([]);
  expect(new JsonlAuditLog(h.auditLogPath).read().filter((r) => r.actionId === state.id)).toEqual([]);
}

test('an unsigned, wrongly signed, foreign, altered, stale or malformed proposal ends invalid, each with its own code', async () => {
  const writes = h.crm.store.writes;
  await refused(await startRaw({ ...proposal(), signature: '' }), 'proposal_malformed');
  // ops-bot's key, claiming to be support-bot.
  await refused(await startRaw(proposal({}, loadSigningKey('ops-bot', h.keysDir))), 'proposal_bad_signature');
  // An agent nobody registered, with a key of its own.
  await refused(
    await startRaw(proposal({ agent: 'rogue-bot' }, generateKeyPairSync('ed25519').privateKey)),
    'unknown_agent',
  );
  // The input changed after signing.
  await refused(
    await startRaw({ ...proposal(), input: { customerId: 'C-1003', changes: { tier: 'bronze' } } }),
    'proposal_bad_signature',
  );
  // Signed ten minutes before it starts.
  await refused(await startRaw(proposal({ time: new Date(Date.now() - 600_000).toISOString() })), 'proposal_stale');
  // A time that does not parse never passes a freshness check.
  await refused(await startRaw(proposal({ time: 'yesterday' })), 'proposal_malformed');
  await refused(await startRaw(proposal({ time: '2026-13-45T99:99:99Z' })), 'proposal_malformed');
  // A user or task field with a hostile shape.
  await refused(await startRaw(proposal({ user: 'alice\u001b[2J' })), 'proposal_malformed');
  expect(h.crm.store.writes).toBe(writes);
  expect(h.crm.store.customers.get('C-1003')?.tier).toBe('bronze');
});

test('a plain (unencrypted) proposal is refused as undecodable, and the worker is not wedged by it', async () => {
  const plain = new Client({ connection: h.client.connection, namespace: testEnv('namespace') });
  await refused(await startRaw(proposal(), { client: plain }), 'proposal_undecodable');
  const { id } = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'after the plain one' },
    agent: 'support-bot',
    user: 'alice',
  });
  expect((await h.airlock.result(id)).status).toBe('succeeded');
});

test('a valid proposal moved to another action id, or replayed as a second run of its own, ends invalid; the first ran once', async () => {
  const signed = proposal({ task: 'crm.add_note_to_customer' }, undefined, { customerId: 'C-1002', note: 'replay me' });
  await refused(
    await startRaw(signed, {
      workflowId: actionIdFor('support-bot', 'elsewhere', loadSigningKey('support-bot', h.keysDir)),
    }),
    'proposal_wrong_action',
  );
  const first = await startRaw(signed);
  expect(first.status).toBe('succeeded');
  const replay = await startRaw(signed, { reuse: true });
  expect(replay.id).toBe(first.id);
  expect(replay.runId).not.toBe(first.runId);
  expect(replay.status).toBe('invalid');
  expect(replay.issues).toEqual([expect.objectContaining({ code: 'proposal_replayed' })]);
  expect(h.crm.store.notes.filter((n) => n.text === 'replay me')).toHaveLength(1);
  expect(
    new JsonlAuditLog(h.auditLogPath)
      .read()
      .filter((r) => r.actionId === first.id)
      .map((r) => [r.kind, r.runId]),
  ).toEqual([
    ['execution', first.runId],
    ['final', first.runId],
  ]);
});

test('people have one canonical id: "ALICE" is alice, and may not approve what was proposed for "Alice"', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { tier: 'silver' } },
    agent: 'support-bot',
    user: 'Alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const state = await h.airlock.get(id);
  expect([state.user, state.requester]).toEqual(['alice', 'alice']);
  const payload: DecisionPayload = {
    approver: 'ALICE',
    actionId: id,
    runId: state.runId,
    planHash: state.plan!.hash,
    decision: 'approve',
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString('hex'),
  };
  const attempt = await h.airlock.decide(id, {
    payload,
    signature: signPayload('airlock.decision.v1', payload, loadSigningKey('alice', h.keysDir)),
  });
  expect([attempt.accepted, attempt.approver, attempt.refusal?.code]).toEqual([false, 'alice', 'self_approval']);
  expect((await h.decide(id, 'carol', 'approve', { planHash: state.plan!.hash })).accepted).toBe(true);
  expect((await h.airlock.result(id)).status).toBe('succeeded');
});

test('an owner of the proposing agent may not approve its actions, with or without a user', async () => {
  for (const user of ['alice', undefined]) {
    const { id } = await h.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: 'C-1005', changes: { tier: user ? 'gold' : 'bronze' } },
      agent: 'bobs-bot',
      user,
    });
    await h.airlock.waitFor(id, ['awaiting_approval']);
    const state = await h.airlock.get(id);
    expect(state.owners).toEqual(['bob']);
    const bob = await h.decide(id, 'bob', 'approve', { planHash: state.plan!.hash });
    expect([bob.accepted, bob.refusal?.code]).toEqual([false, 'self_approval']);
    expect((await h.airlock.get(id)).status).toBe('awaiting_approval');
    expect((await h.decide(id, 'carol', 'approve', { planHash: state.plan!.hash })).accepted).toBe(true);
    expect((await h.airlock.result(id)).status).toBe('succeeded');
  }
});

describe('one person, one key, one name', () => {
  const key = () => publicKeyText(generateKeyPairSync('ed25519').publicKey);
  const shared = key();

  test.each([
    [
      'the same key under two names (a quorum of one)',
      [
        { name: 'bob', publicKey: shared, groups: [] },
        { name: 'robert', publicKey: shared, groups: [] },
      ],
      [],
      /same public key as "bob"/,
    ],
    [
      'two names that differ only in case',
      [
        { name: 'bob', publicKey: key(), groups: [] },
        { name: 'Bob', publicKey: key(), groups: [] },
      ],
      [],
      /same identity as "bob"/,
    ],
    [
      'a person and an agent of one name',
      [{ name: 'helper', publicKey: key(), groups: [] }],
      [{ name: 'Helper', publicKey: key(), owners: ['dave'] }],
      /same identity as "helper"/,
    ],
    [
      'a person’s key reused by an agent',
      [{ name: 'bob', publicKey: shared, groups: [] }],
      [{ name: 'bot', publicKey: shared, owners: ['dave'] }],
      /same public key as "bob"/,
    ],
  ])('%s is refused', (_what, people, agents, message) => {
    expect(() => buildIdentities(people, agents)).toThrow(message);
  });

  test('…and the worker does not start with such files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-ids-'));
    writeFileSync(
      join(dir, 'approvers.json'),
      JSON.stringify({
        approvers: [
          { name: 'bob', publicKey: shared, groups: ['approvers'] },
          { name: 'BOB', publicKey: key(), groups: [] },
        ],
      }),
    );
    writeFileSync(join(dir, 'agents.json'), JSON.stringify({ agents: [] }));
    const run = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        process.execPath,
        [require.resolve('tsx/cli'), join(REPO_ROOT, 'workers', 'main.ts')],
        {
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: testEnv('temporalAddress'),
            AIRLOCK_CODEC_KEYS: testEnv('codecKeys'),
            AIRLOCK_APPROVERS_FILE: join(dir, 'approvers.json'),
            AIRLOCK_AGENTS_FILE: join(dir, 'agents.json'),
            AWS_REGION: 'us-east-1',
            AIRLOCK_AWS_ACCOUNT_ID: '123456789012',
            AIRLOCK_POLICIES_DIR: join(REPO_ROOT, 'policies'),
            AIRLOCK_AUDIT_LOG: join(dir, 'audit.jsonl'),
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/names "BOB", which is the same identity as "bob"/);
  });
});

test('the CLI signs a proposal with the agent’s key from the keys directory, and says what to do when it has none', async () => {
  const cli = (...args: string[]) => runAirlock(args, { env: suiteCliEnv(h.keysDir) });
  const missing = await cli(
    'propose',
    'crm.add_note_to_customer',
    '--agent',
    'rogue-bot',
    '--input',
    '{"customerId":"C-1001","note":"x"}',
  );
  expect(missing.code).toBe(1);
  expect(missing.out).toMatch(/No private key for rogue-bot in .*airlock keys new rogue-bot/);
});

test('an action id under an idempotency key cannot be computed, so cannot be occupied first, without the agent’s key', async () => {
  const naive = `act-${createHash('sha256').update('support-bot\nticket-9001').digest('hex').slice(0, 24)}`;
  // The attacker occupies every id they can compute from the agent's name and the key.
  await h.client.workflow.start('actionWorkflow', {
    taskQueue: `squatter-${randomBytes(4).toString('hex')}`,
    workflowId: naive,
    args: [{}],
  });
  const { id, existing } = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'ticket 9001' },
    agent: 'support-bot',
    user: 'alice',
    idempotencyKey: 'ticket-9001',
  });
  expect([id === naive, existing]).toEqual([false, false]);
  expect(id).toBe(actionIdFor('support-bot', 'ticket-9001', loadSigningKey('support-bot', h.keysDir)));
  expect(id).not.toBe(actionIdFor('support-bot', 'ticket-9001', loadSigningKey('ops-bot', h.keysDir)));
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  await h.client.workflow.getHandle(naive).terminate('test over');
});

test('a stranger’s new run under a finished action’s id does not change what the action reports', async () => {
  const proposal = {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1002', note: 'the real one' },
    agent: 'support-bot',
    user: 'alice',
    idempotencyKey: 'ticket-9002',
  };
  const { id } = await h.airlock.propose(proposal);
  const real = await h.airlock.result(id);
  expect(real.status).toBe('succeeded');
  // Once it has closed, anyone can start another run under its id: here one that nobody runs, with the same memo.
  const memo = (await h.client.workflow.getHandle(id, real.runId).describe()).memo;
  await h.client.workflow.start('actionWorkflow', {
    taskQueue: `nobody-${randomBytes(4).toString('hex')}`,
    workflowId: id,
    args: [{}],
    memo,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const fresh = new AirlockClient(h.client, {
    taskQueue: h.taskQueue,
    agentKey: (agent) => loadSigningKey(agent, h.keysDir),
  });
  expect((await fresh.get(id)).runId).toBe(real.runId);
  expect(await fresh.propose(proposal)).toEqual({ id, status: 'succeeded', existing: true });
  expect(h.crm.store.notes.filter((n) => n.text === 'the real one')).toHaveLength(1);
  await h.client.workflow.getHandle(id).terminate('test over');
});
