import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../activities';
import { inputDigest } from '../activities/evidence';
import { JsonlAuditLog } from '../audit/audit-log';
import { airlockDataConverter } from '../crypto/data-converter';
import { parseCodecKeys } from '../crypto/encryption-codec';
import { loadSigningKey, signPayload } from '../crypto/signing-keys';
import type { ProposalPayload, SignedProposal } from '../common/types';
import { actionIdFor } from '../client/action-id';
import { AirlockClient } from '../client/airlock-client';
import { goSignal } from './fixtures/rogue/rogue-workflows';
import { startHarness, type Harness } from './support/harness';
import { sessionsOf } from './support/moto-sessions';
import { startRogue, type Rogue } from './support/rogue';
import { TEST_ENV, testEnv } from './support/test-env';

// Point 1 of the security issue: the activities are the trust boundary. An attacker who can reach the namespace
// runs workflows of their own that schedule Airlock's activities on Airlock's task queue, or poses as Airlock's
// workflow on it. Every attack must fail non-retryably, mint nothing, touch nothing, and leave the audit log true.
jest.setTimeout(120_000);

let h: Harness;
let rogue: Rogue;
beforeAll(async () => {
  h = await startHarness();
  rogue = await startRogue();
});
afterAll(async () => {
  await rogue?.close();
  await h?.close();
});

const customer = (id: string) => ({ ...h.crm.store.customers.get(id)! });
const note = (text: string) => ({
  task: 'crm.add_note_to_customer',
  input: { customerId: 'C-1001', note: text },
  agent: 'support-bot',
  user: 'alice',
});

/** The signed proposal a real action was started with, as anyone holding the codec key can read it from history. */
async function capturedProposal(id: string): Promise<SignedProposal> {
  const history = await rogue.client(true).workflow.getHandle(id).fetchHistory();
  const payload = history.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const [decoded] = await rogue.client(true).options.loadedDataConverter.payloadCodecs[0].decode([payload!]);
  return JSON.parse(Buffer.from(decoded.data!).toString()) as SignedProposal;
}

/** A proposal bound to `workflowId`, signed with `key` (an attacker holding an agent's key, or a key of their own). */
function signedProposal(
  workflowId: string,
  task: string,
  input: unknown,
  key: KeyObject,
  user = 'alice',
): SignedProposal {
  const payload: ProposalPayload = {
    actionId: workflowId,
    agent: 'support-bot',
    user,
    task,
    inputDigest: inputDigest(input),
    dryRun: false,
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString('hex'),
  };
  return { payload, input, signature: signPayload('airlock.proposal.v1', payload, key) };
}
const freshId = () => actionIdFor('support-bot', undefined, generateKeyPairSync('ed25519').privateKey);

/** Everything an attack must leave as it was. */
async function untouched<T>(attack: () => Promise<T>): Promise<T> {
  const writes = h.crm.store.writes;
  const notes = h.crm.store.notes.length;
  const audit = new JsonlAuditLog(h.auditLogPath).read();
  const result = await attack();
  expect(h.crm.store.writes).toBe(writes);
  expect(h.crm.store.notes).toHaveLength(notes);
  expect(new JsonlAuditLog(h.auditLogPath).read()).toEqual(audit);
  return result;
}

test('plain payloads: executeAction with an invented task and input is refused before anything is minted', async () => {
  const out = await untouched(() =>
    rogue.call({
      encrypted: false,
      taskQueue: h.taskQueue,
      activity: 'executeAction',
      args: [
        { proposal: { task: 'crm.update_customer', input: { customerId: 'C-1002', changes: { tier: 'platinum' } } } },
      ],
    }),
  );
  expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
  expect(out.message).toMatch(/could not be decrypted/);
  expect(customer('C-1002').tier).toBe('silver');
  expect(await sessionsOf(h.motoEndpoint, out.workflowId)).toEqual([]);
});

test('plain payloads: recordAudit with an invented "rejected" state for a real action is refused; the real record stays the only one', async () => {
  const { id } = await h.airlock.propose(note('really executed'));
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  const forged = { id, runId: 'x', task: 'crm.add_note_to_customer', status: 'rejected', approvedBy: [] };
  for (const encrypted of [false, true]) {
    const out = await untouched(() =>
      rogue.call({ encrypted, taskQueue: h.taskQueue, activity: 'recordAudit', args: [forged] }),
    );
    expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
  }
  const records = new JsonlAuditLog(h.auditLogPath).read().filter((r) => r.actionId === id);
  expect(records.map((r) => [r.kind, r.status])).toEqual([
    ['execution', 'executing'],
    ['final', 'succeeded'],
  ]);
  expect(new JsonlAuditLog(h.auditLogPath).verify().ok).toBe(true);
});

test('encrypted, with a proposal signed by a key no agent has registered: refused as unknown_agent', async () => {
  const workflowId = freshId();
  const forged = signedProposal(
    workflowId,
    'crm.update_customer',
    { customerId: 'C-1003', changes: { tier: 'platinum' } },
    generateKeyPairSync('ed25519').privateKey,
  );
  const out = await untouched(() =>
    rogue.call({
      encrypted: true,
      taskQueue: h.taskQueue,
      activity: 'executeAction',
      args: [{ proposal: forged }],
      workflowId,
    }),
  );
  expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
  expect(out.message).toMatch(/signature does not verify against support-bot's registered key/);
  expect(customer('C-1003').tier).toBe('bronze');
  expect(await sessionsOf(h.motoEndpoint, workflowId)).toEqual([]);
});

test('a real proposal copied into an attacker workflow of another id, or replayed as a second run of its own id, is refused; planAction too', async () => {
  const { id } = await h.airlock.propose(note('once only'));
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  const proposal = await capturedProposal(id);
  const sessions = (await sessionsOf(h.motoEndpoint, id)).length;

  const moved = await untouched(() =>
    rogue.call({ encrypted: true, taskQueue: h.taskQueue, activity: 'executeAction', args: [{ proposal }] }),
  );
  expect(moved).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE' });
  expect(moved.message).toMatch(new RegExp(`signed for action ${id}, not for ${moved.workflowId}`));

  for (const activity of ['executeAction', 'planAction']) {
    const replayed = await untouched(() =>
      rogue.call({
        encrypted: true,
        taskQueue: h.taskQueue,
        activity,
        args: [{ proposal }],
        workflowId: id,
        reuseClosedId: true,
      }),
    );
    expect(replayed).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
    expect(replayed.message).toMatch(/already ran; a proposal runs once/);
  }
  expect(h.crm.store.notes.filter((n) => n.text === 'once only')).toHaveLength(1);
  expect(await sessionsOf(h.motoEndpoint, id)).toHaveLength(sessions);
});

test("admission, which may execute, refuses a finished action's proposal in a second run of its id: nothing minted, nothing recorded", async () => {
  // The replay of a finished action in a second run of its id, with a start that would pass the freshness check:
  // admission asks Temporal which run is first (it takes no start from its caller) and refuses it as replayed.
  const { id } = await h.airlock.propose(note('admitted once'));
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  const proposal = await capturedProposal(id);
  const sessions = (await sessionsOf(h.motoEndpoint, id)).length;
  const admitted = await untouched(() =>
    rogue.call({
      encrypted: true,
      taskQueue: h.taskQueue,
      activity: 'admitAndExecute',
      args: [{ proposal, startedAt: (proposal as { payload: { time: string } }).payload.time }],
      workflowId: id,
      reuseClosedId: true,
    }),
  );
  expect(admitted).toMatchObject({
    completed: true,
    result: { ok: false, authentic: false, issues: [expect.objectContaining({ code: 'proposal_replayed' })] },
  });
  expect(admitted.result).not.toHaveProperty('executed');
  expect(await sessionsOf(h.motoEndpoint, id)).toHaveLength(sessions);
  expect(h.crm.store.notes.filter((n) => n.text === 'admitted once')).toHaveLength(1);
  // And the worker still knows which run is the action's: the real one's records stand, nothing was added.
  expect(
    new JsonlAuditLog(h.auditLogPath)
      .read()
      .filter((r) => r.actionId === id)
      .map((r) => r.kind),
  ).toEqual(['execution', 'final']);
});

test('an attacker holding an agent’s key can do what that agent may, but never keep it out of the audit log, nor record what did not happen', async () => {
  const key = loadSigningKey('support-bot', h.keysDir);
  const audit = () => new JsonlAuditLog(h.auditLogPath).read();
  // It runs a note the agent may add without approval from its own workflow, and never asks for the final record.
  const ran = freshId();
  const out = await rogue.call({
    encrypted: true,
    taskQueue: h.taskQueue,
    activity: 'executeAction',
    args: [
      {
        proposal: signedProposal(
          ran,
          'crm.add_note_to_customer',
          { customerId: 'C-1004', note: 'by a rogue workflow' },
          key,
        ),
      },
    ],
    workflowId: ran,
  });
  expect(out).toMatchObject({ completed: true, result: { kind: 'executed' } });
  expect(h.crm.store.notes.filter((n) => n.text === 'by a rogue workflow')).toHaveLength(1);
  expect(
    audit()
      .filter((r) => r.actionId === ran)
      .map((r) => [r.kind, r.status]),
  ).toEqual([['execution', 'executing']]);

  // It claims success for something that never ran (its own "executeAction", on its own queue), or records an
  // action that has not finished: refused, nothing written.
  const before = audit();
  const claimed = freshId();
  const forged = await rogue.forgeAudit(
    h.taskQueue,
    claimed,
    'succeeded',
    signedProposal(claimed, 'crm.add_note_to_customer', { customerId: 'C-1004', note: 'never happened' }, key),
  );
  expect(forged).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
  expect(forged.message).toMatch(/status is "succeeded", but the audit log records no execution/);
  const early = freshId();
  const premature = await rogue.forgeAudit(
    h.taskQueue,
    early,
    'awaiting_approval',
    signedProposal(early, 'crm.update_customer', { customerId: 'C-1004', changes: { tier: 'silver' } }, key),
  );
  expect(premature).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE' });
  expect(premature.message).toMatch(/not finished/);
  expect(audit()).toEqual(before);
  expect(new JsonlAuditLog(h.auditLogPath).verify().ok).toBe(true);
});

test('admission of a proposal that needs approval, scheduled by a stranger in a run of their own, plans it and executes nothing', async () => {
  // An attacker holding the agent's key starts a run of their own and schedules admission for it: it is the first
  // run of its id and fresh, so it is admitted, but policy asks for an approval that nobody gave.
  const key = loadSigningKey('support-bot', h.keysDir);
  const id = freshId();
  const before = customer('C-1003');
  const proposal = signedProposal(id, 'crm.update_customer', { customerId: 'C-1003', changes: { tier: 'gold' } }, key);
  const admitted = await untouched(() =>
    rogue.call({
      encrypted: true,
      taskQueue: h.taskQueue,
      activity: 'admitAndExecute',
      args: [{ proposal }],
      workflowId: id,
    }),
  );
  expect(admitted).toMatchObject({ completed: true, result: { ok: true, policy: { approvalsRequired: 1 } } });
  expect(admitted.result).not.toHaveProperty('executed');
  expect(customer('C-1003')).toEqual(before);
  // Only the read-only plan session was minted; the audit log holds nothing of it.
  expect((await sessionsOf(h.motoEndpoint, id)).map((s) => s.session_name)).toEqual([`${id}.plan`]);
  expect(new JsonlAuditLog(h.auditLogPath).read().filter((r) => r.actionId === id)).toEqual([]);
});

test('an old proposal, even one the attacker’s agent key signs, is stale in a new run of the attacker’s own', async () => {
  const key = loadSigningKey('support-bot', h.keysDir);
  for (const activity of ['planAction', 'executeAction']) {
    const id = freshId();
    const old = signedProposal(id, 'crm.add_note_to_customer', { customerId: 'C-1005', note: 'from the past' }, key);
    old.payload.time = new Date(Date.now() - 600_000).toISOString();
    old.signature = signPayload('airlock.proposal.v1', old.payload, key);
    const out = await untouched(() =>
      rogue.call({ encrypted: true, taskQueue: h.taskQueue, activity, args: [{ proposal: old }], workflowId: id }),
    );
    expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
    expect(out.message).toMatch(/more than 5 minutes from the start of its action/);
    expect(await sessionsOf(h.motoEndpoint, id)).toEqual([]);
  }
});

describe('an impostor of the action workflow on Airlock’s own task queue (a rogue worker) cannot execute without the evidence', () => {
  let impostor: { stop(): Promise<void> } | undefined;
  let activitiesOnly: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;

  /** Airlock's real activities, on a worker of their own (no workflows) on Airlock's queue. */
  const startOurActivities = async () => {
    const connection = await NativeConnection.connect({ address: testEnv('temporalAddress') });
    const worker = await Worker.create({
      connection,
      namespace: testEnv('namespace'),
      taskQueue: h.taskQueue,
      activities: createActivities(h.activityDeps()),
      dataConverter: airlockDataConverter(parseCodecKeys(testEnv('codecKeys'), TEST_ENV.codecKeys), 'mark'),
    });
    activitiesOnly = { worker, running: worker.run(), connection };
  };
  const stopOurActivities = async () => {
    activitiesOnly?.worker.shutdown();
    await activitiesOnly?.running;
    await activitiesOnly?.connection.close();
    activitiesOnly = undefined;
  };

  beforeAll(async () => {
    // Airlock's workflow worker is away; the attacker's polls the queue; Airlock's activities still run there.
    await h.stopWorker();
    impostor = await rogue.impostor(h.taskQueue);
    await startOurActivities();
  });
  afterAll(async () => {
    await stopOurActivities();
    await impostor?.stop();
    await h.startWorker();
  });

  /** Proposes a high-risk update (one approval needed) that the impostor takes; returns its id and run. */
  async function impostorAction(customerId: string) {
    const { id } = await h.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId, changes: { tier: 'platinum' } },
      agent: 'support-bot',
      user: 'alice',
    });
    const runId = (await h.client.workflow.getHandle(id).describe()).runId;
    return { id, runId };
  }
  const planHash = 'a'.repeat(64);

  test('no decisions at all: refused, no quorum', async () => {
    const { id, runId } = await impostorAction('C-1004');
    const out = await untouched(async () => {
      await h.client.workflow.getHandle(id).signal(goSignal, planHash);
      return rogue.outcome(id, runId);
    });
    expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
    expect(out.message).toMatch(/needs 1 distinct valid approval\(s\); the history shows 0/);
    expect((await sessionsOf(h.motoEndpoint, id)).filter((s) => s.session_name === id)).toEqual([]);
    expect(customer('C-1004').tier).toBe('gold');
  });

  test('approvals the impostor "accepted" are verified again: a forged signature and the requester’s own approval do not count', async () => {
    const { id, runId } = await impostorAction('C-1005');
    const forged = {
      payload: {
        approver: 'bob',
        actionId: id,
        runId,
        planHash,
        decision: 'approve',
        time: new Date().toISOString(),
        nonce: randomBytes(16).toString('hex'),
      },
      signature: randomBytes(64).toString('base64'),
    };
    await h.airlock.decide(id, forged as never);
    await h.decide(id, 'alice', 'approve', { planHash });
    const out = await untouched(async () => {
      await h.client.workflow.getHandle(id).signal(goSignal, planHash);
      return rogue.outcome(id, runId);
    });
    expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE' });
    expect(out.message).toMatch(/the history shows 0; not counted: bob: bad_signature; alice: self_approval/);
    expect(customer('C-1005').tier).toBe('silver');
  });

  test('a valid approval, and a rejection the impostor answered "refused": the rejection is obeyed all the same', async () => {
    const { id, runId } = await impostorAction('C-1001');
    await h.decide(id, 'bob', 'approve', { planHash });
    expect((await h.decide(id, 'carol', 'reject', { planHash, reason: 'not this one' })).accepted).toBe(false);
    const out = await untouched(async () => {
      await h.client.workflow.getHandle(id).signal(goSignal, planHash);
      return rogue.outcome(id, runId);
    });
    expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
    expect(out.message).toMatch(/carol rejected this action \(not this one\); it must not execute/);
    expect(customer('C-1001').tier).toBe('gold');
  });

  test('a valid approval of another plan than the target’s current one executes nothing: the plan is stale', async () => {
    const { id, runId } = await impostorAction('C-1002');
    await h.decide(id, 'bob', 'approve', { planHash });
    const out = await untouched(async () => {
      await h.client.workflow.getHandle(id).signal(goSignal, planHash);
      return rogue.outcome(id, runId);
    });
    expect(out).toMatchObject({
      completed: true,
      result: { kind: 'plan_changed', plan: expect.objectContaining({ hash: expect.not.stringMatching(planHash) }) },
    });
    expect((await sessionsOf(h.motoEndpoint, id)).filter((s) => s.session_name === id)).toEqual([]); // no execute session
    expect(customer('C-1002').tier).toBe('silver');
  });

  test('a mark "plan already checked" written into heartbeat details by the attacker’s own activity worker is not believed', async () => {
    const { id, runId } = await impostorAction('C-1003');
    await h.decide(id, 'bob', 'approve', { planHash });
    // The attacker's worker takes the first attempt of executeAction, leaves the mark and fails it for a retry.
    await stopOurActivities();
    const forger = await rogue.activities(h.taskQueue, {
      async executeAction() {
        Context.current().heartbeat({ planChecked: planHash }); // what a worker without the key would write
        await new Promise((r) => setTimeout(r, 300)); // let the heartbeat reach the server
        throw ApplicationFailure.retryable('over to the real worker', 'ROGUE');
      },
    });
    await h.client.workflow.getHandle(id).signal(goSignal, planHash);
    for (let i = 0; i < 100; i++) {
      const pending = (await h.client.workflow.getHandle(id).describe()).raw.pendingActivities?.[0];
      if (pending && Number(pending.attempt) >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await forger.stop();
    await startOurActivities();
    // The real worker takes the second attempt: it plans again, finds the approved plan is not the target's, and stops.
    const out = await untouched(() => rogue.outcome(id, runId));
    expect(out).toMatchObject({ completed: true, result: { kind: 'plan_changed' } });
    expect((await sessionsOf(h.motoEndpoint, id)).map((s) => s.session_name)).toEqual([`${id}.plan`]);
    expect(customer('C-1003').tier).toBe('bronze');
  });
});

test('a plan whose content was swapped under its real hash (say, by a worker of someone holding the codec key) is never shown for signing', async () => {
  // A worker that runs Airlock's own workflow and activities, except that the plan admission makes (and planAction,
  // should it be asked) is a benign-looking one carrying the hash of the real one. A stranger polling the queue cannot
  // answer a local activity; this is the workflow's own check, for whoever can.
  const real = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1005', changes: { email: 'attacker@evil.example' } },
    agent: 'support-bot',
    user: 'alice',
    dryRun: true,
  });
  const truth = (await h.airlock.result(real.id)).plan!;
  const swapped = {
    ...truth,
    summary: 'Fix a typo in the name of Edsger Dijkstra (C-1005)',
    diff: [{ path: 'name', op: 'change', before: 'Edsger Dijkstra', after: 'Edsger W. Dijkstra' }],
  };
  const activities = createActivities(h.activityDeps());
  const final = await withWorker(
    {
      ...activities,
      admitAndExecute: async (args: Parameters<typeof activities.admitAndExecute>[0]) => {
        const admission = await activities.admitAndExecute(args);
        return admission.ok ? { ...admission, plan: swapped } : admission;
      },
      planAction: async () => swapped,
    },
    async (client) => {
      const { id } = await client.propose({
        task: 'crm.update_customer',
        input: { customerId: 'C-1005', changes: { email: 'attacker@evil.example' } },
        agent: 'support-bot',
        user: 'alice',
      });
      return client.result(id);
    },
  );
  expect([final.status, final.error?.type]).toEqual(['failed', 'AIRLOCK_PLAN_MISMATCH']);
  expect(final.transitions.map((t) => t.status)).not.toContain('awaiting_approval');
  expect(final.plan).toBeUndefined();
  expect(customer('C-1005').email).toBe('edsger@example.com');
});

test('an admission result made for another run (copied into this run’s task by someone polling the queue) is refused: no approval is skipped, and the record says what happened', async () => {
  const activities = createActivities(h.activityDeps());
  let copied: Awaited<ReturnType<typeof activities.admitAndExecute>> | undefined;
  const { note: noted, update } = await withWorker(
    {
      ...activities,
      // The first admission is real (a note that needs no approval, executed); every later one answers with it.
      admitAndExecute: async (args: Parameters<typeof activities.admitAndExecute>[0]) =>
        (copied ??= await activities.admitAndExecute(args)),
    },
    async (client) => {
      const first = await client.propose({ ...note('copied admission'), input: { customerId: 'C-1003', note: 'x' } });
      const noted = await client.result(first.id);
      const second = await client.propose({
        task: 'crm.update_customer',
        input: { customerId: 'C-1003', changes: { tier: 'platinum' } },
        agent: 'support-bot',
        user: 'alice',
      });
      return { note: noted, update: await client.result(second.id) };
    },
  );
  expect(noted.status).toBe('succeeded');
  expect(copied).toHaveProperty('executed');
  // The update needed an approval nobody gave: the copied "executed" admission does not make it succeed.
  expect([update.status, update.error?.type]).toEqual(['failed', 'AIRLOCK_WRONG_RUN']);
  expect(update.result).toBeUndefined();
  expect(customer('C-1003').tier).not.toBe('platinum');
  const [record] = new JsonlAuditLog(h.auditLogPath).find(update.id, update.runId, 'final');
  expect(record.status).toBe('failed');
  const summaries = (record.events as { kind: string; summary: string }[]).map((e) => e.summary);
  expect(summaries).toContain(`an admission made for another run (${noted.runId}) was refused`);
  expect((record.events as { kind: string }[]).map((e) => e.kind)).not.toContain('executed');
});

test('should admission fail to write its audit record after the effect, the workflow has it written from history, and the effect is not repeated', async () => {
  const deps = h.activityDeps();
  let refused = 0;
  const log = deps.auditLog;
  const flaky = new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === 'append')
        return async (entry: Parameters<typeof log.append>[0]) => {
          if (entry.kind === 'final' && refused === 0 && Context.current().info.activityType === 'admitAndExecute') {
            refused++;
            throw new Error('disk full (simulated)');
          }
          return log.append(entry);
        };
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const activities = createActivities({ ...deps, auditLog: flaky });
  const final = await withWorker(activities, async (client) => {
    const { id } = await client.propose({ ...note('audited later'), input: { customerId: 'C-1003', note: 'later' } });
    return client.result(id);
  });
  expect(final.status).toBe('succeeded');
  expect(refused).toBe(1);
  expect(h.crm.store.notes.filter((n) => n.text === 'later')).toHaveLength(1);
  const records = new JsonlAuditLog(h.auditLogPath).read().filter((r) => r.actionId === final.id);
  expect(records.map((r) => [r.kind, r.status])).toEqual([
    ['execution', 'executing'],
    ['final', 'succeeded'],
  ]);
  // Written by recordAudit from the run's history (which holds the status changes), not by admission.
  expect((records[1].events as { kind: string }[]).map((e) => e.kind)).toContain('status_changed');
});

/** Runs `body` against a worker of Airlock's workflow on a queue of its own, with these activities. */
async function withWorker<T>(activities: object, body: (client: AirlockClient) => Promise<T>): Promise<T> {
  const queue = `own-queue-${randomBytes(4).toString('hex')}`;
  const connection = await NativeConnection.connect({ address: testEnv('temporalAddress') });
  try {
    const worker = await Worker.create({
      connection,
      namespace: testEnv('namespace'),
      taskQueue: queue,
      workflowBundle: { codePath: testEnv('workflowBundle') },
      activities,
      dataConverter: airlockDataConverter(parseCodecKeys(testEnv('codecKeys'), TEST_ENV.codecKeys), 'mark'),
    });
    const client = new AirlockClient(h.client, {
      taskQueue: queue,
      agentKey: (agent) => loadSigningKey(agent, h.keysDir),
    });
    return await worker.runUntil(() => body(client));
  } finally {
    await connection.close();
  }
}

test('a cancelled action is recorded; once executing, it is seen through and says what really happened', async () => {
  const waiting = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1001', changes: { phone: '+44 20 7946 0123', tier: 'gold' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(waiting.id, ['awaiting_approval']);
  await h.client.workflow.getHandle(waiting.id).cancel();
  const cancelled = await h.airlock.result(waiting.id);
  expect(cancelled.status).toBe('cancelled');
  expect(new JsonlAuditLog(h.auditLogPath).find(waiting.id, cancelled.runId, 'final').map((r) => r.status)).toEqual([
    'cancelled',
  ]);

  const writes = h.crm.store.writes;
  const running = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1001', changes: { phone: '+44 20 7946 0456', tier: 'gold' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(running.id, ['awaiting_approval']);
  h.crm.slowReads(1500, 1); // executeAction's last plan: the cancel arrives while it runs
  await h.approveAll(running.id);
  await h.airlock.waitFor(running.id, ['executing']);
  await h.client.workflow.getHandle(running.id).cancel();
  const done = await h.airlock.result(running.id);
  expect(done.status).toBe('succeeded');
  expect(customer('C-1001').phone).toBe('+44 20 7946 0456');
  expect(h.crm.store.writes).toBe(writes + 1);
  expect(
    new JsonlAuditLog(h.auditLogPath)
      .read()
      .filter((r) => r.actionId === running.id)
      .map((r) => [r.kind, r.status]),
  ).toEqual([
    ['execution', 'executing'],
    ['final', 'succeeded'],
  ]);
});
