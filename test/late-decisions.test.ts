import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAuditLog } from '../audit/dynamodb-audit-log';
import { provisionAuditTables } from '../audit/provision-audit-tables';
import { AirlockClient } from '../client/airlock-client';
import { LateDecisionError } from '../common/errors';
import type { LateDecisionOutcome } from '../common/late-decision';
import { AIRLOCK_TASK_QUEUE, lateDecisionWorkflowId } from '../common/task-queue';
import type { ActionState, SignedDecision } from '../common/types';
import { loadDevConfig } from '../stack/dev-config';
import { MOTO_ADMIN } from '../stack/moto';
import type { lateDecisionWorkflow } from '../workflows';
import { runAirlock, suiteCliEnv } from './support/cli';
import { decisionPayload, signDecision } from './support/decisions';
import { startHarness, type Harness } from './support/harness';
import { testEnv } from './support/test-env';

// A decision that arrives after its action ended changes nothing, and the workers record it in the (DynamoDB) audit
// log as a late decision: once per approver and action run, and only if genuine. Approvers' clients never write it.

const region = loadDevConfig().moto.region;
const aws = { region, endpoint: testEnv('motoEndpoint'), credentials: MOTO_ADMIN };
const tables = { table: `audit-${randomUUID()}`, checkpointTable: `audit-checkpoint-${randomUUID()}` };
const log = new DynamoDbAuditLog({ aws, ...tables });
let h: Harness;
/** An action bob rejected in time: his rejection as he signed it, and the action as it ended. */
let rejected: { state: ActionState; bobs: SignedDecision };

beforeAll(async () => {
  const ddb = new DynamoDBClient(aws);
  await provisionAuditTables(ddb, tables);
  ddb.destroy();
  // The CLI starts late decisions on the production task queue: this file's worker polls it.
  h = await startHarness({ taskQueue: AIRLOCK_TASK_QUEUE, auditStore: log });
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1002', changes: { tier: 'gold' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const bobs = signDecision(
    decisionPayload(await h.airlock.get(id), 'bob', { decision: 'reject', reason: 'not this quarter' }),
    'bob',
    h.keysDir,
  );
  expect((await h.airlock.decide(id, bobs)).accepted).toBe(true);
  rejected = { state: await h.airlock.result(id), bobs };
  expect(rejected.state.status).toBe('rejected');
});
afterAll(async () => {
  await h?.close();
});

const lateRecords = async (actionId: string) =>
  (await log.read()).filter((r) => r.kind === 'late_decision' && r.actionId === actionId);
/** What a late decision threw (it always throws: it changed nothing). */
async function late(send: Promise<unknown>): Promise<LateDecisionError> {
  const err = await send.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LateDecisionError);
  return err as LateDecisionError;
}

test('an approval after the action was rejected is recorded once, says so, and changes nothing', async () => {
  const { state } = rejected;
  const customer = { ...h.crm.store.customers.get('C-1002') };
  const err = await late(h.decide(state.id, 'carol', 'approve'));
  expect(err.message).toMatch(
    new RegExp(
      `^Action ${state.id} has finished \\(rejected\\); a decision changes nothing\\. Your decision was recorded in the audit log as a late decision \\(record \\d+\\)\\.$`,
    ),
  );
  expect(err.outcome).toMatchObject({ recorded: true, status: 'rejected', earlier: false });
  const records = await lateRecords(state.id);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({
    seq: err.outcome?.seq,
    runId: state.runId,
    approver: 'carol',
    task: 'crm.update_customer',
    status: 'rejected',
    events: [
      expect.objectContaining({
        kind: 'late_decision',
        data: expect.objectContaining({
          approver: 'carol',
          decision: 'approve',
          planHash: state.plan?.hash,
          lastPlan: true,
          permitted: true,
          excluded: false,
          actionStatus: 'rejected',
        }),
      }),
    ],
  });
  // Nothing about the action moved.
  expect((await h.airlock.get(state.id)).status).toBe('rejected');
  expect(h.crm.store.customers.get('C-1002')).toEqual(customer);
  expect(await log.verify()).toMatchObject({ ok: true });
});

test('one record per approver and action: a second decision, and a flood of them, add nothing', async () => {
  const { state } = rejected;
  const before = (await log.read()).length;
  const again = await late(h.decide(state.id, 'carol', 'reject', { reason: 'changed my mind' }));
  expect(again.message).toContain('The audit log already holds the decision you sent after it ended (record');
  expect(again.outcome).toMatchObject({ recorded: true, earlier: true });
  // Twenty differently signed decisions at once, and one signed decision sent ten times.
  const flood = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      late(h.decide(state.id, 'carol', i % 2 ? 'approve' : 'reject', { reason: `${i}` })),
    ),
  );
  expect(flood.every((e) => e.outcome?.recorded && e.outcome.seq === again.outcome?.seq)).toBe(true);
  const same = signDecision(decisionPayload(state, 'carol'), 'carol', h.keysDir);
  const resent = await Promise.all(Array.from({ length: 10 }, () => late(h.airlock.decide(state.id, same))));
  expect(new Set(resent.map((e) => e.outcome?.seq))).toEqual(new Set([again.outcome?.seq]));
  // The ten sends met one workflow: its id is one per action, approver and signature.
  const id = lateDecisionWorkflowId(state.id, 'carol', createHash('sha256').update(same.signature).digest('hex'));
  const runs: string[] = [];
  for await (const wf of h.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
  expect(runs).toHaveLength(1);
  expect((await log.read()).length).toBe(before);
  expect(await lateRecords(state.id)).toHaveLength(1);
});

describe('what is not genuine is refused and not recorded', () => {
  const refusal = async (signed: SignedDecision): Promise<LateDecisionOutcome | undefined> => {
    const before = (await log.read()).length;
    const err = await late(h.airlock.decide(rejected.state.id, signed));
    expect(err.message).toContain(`has finished (rejected); a decision changes nothing. It was not recorded:`);
    expect((await log.read()).length).toBe(before);
    return err.outcome;
  };

  test("a decision in bob's name signed with mallory's key", async () => {
    const forged = signDecision(decisionPayload(rejected.state, 'bob'), 'mallory', h.keysDir);
    expect(await refusal(forged)).toMatchObject({ recorded: false, refusal: { code: 'bad_signature' } });
  });

  test('a signature that is no signature, and a person nobody registered', async () => {
    const unsigned = { payload: decisionPayload(rejected.state, 'mallory'), signature: 'AAAA' };
    expect(await refusal(unsigned)).toMatchObject({ refusal: { code: 'bad_signature' } });
    const stranger = { payload: decisionPayload(rejected.state, 'zed-nobody'), signature: 'AAAA' };
    expect(await refusal(stranger)).toMatchObject({ refusal: { code: 'unknown_key' } });
  });

  test("bob's own in-time rejection, sent again after the end", async () => {
    expect(await refusal(rejected.bobs)).toMatchObject({ refusal: { code: 'replayed_nonce' } });
  });

  test('a plan the action never made', async () => {
    const other = signDecision(
      decisionPayload(rejected.state, 'mallory', { planHash: 'f'.repeat(64) }),
      'mallory',
      h.keysDir,
    );
    expect(await refusal(other)).toMatchObject({ refusal: { code: 'wrong_plan_hash' } });
  });

  test('a decision for another run of the action', async () => {
    const wrongRun = signDecision(
      decisionPayload({ ...rejected.state, runId: randomUUID() }, 'mallory'),
      'mallory',
      h.keysDir,
    );
    expect(await refusal(wrongRun)).toMatchObject({ refusal: { code: 'unknown_action' } });
  });
});

test('started by hand for a running action, the workflow records nothing: a decision for a running action goes to it', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1003', changes: { tier: 'silver' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const state = await h.airlock.get(id);
  const genuine = signDecision(decisionPayload(state, 'carol'), 'carol', h.keysDir);
  const outcome = await h.client.workflow.execute<typeof lateDecisionWorkflow>('lateDecisionWorkflow', {
    workflowId: `rogue-${randomUUID()}`,
    taskQueue: AIRLOCK_TASK_QUEUE,
    args: [genuine],
  });
  expect(outcome).toMatchObject({ recorded: false, refusal: { code: 'still_running' } });
  expect(await lateRecords(id)).toEqual([]);
  // Sent to the action, the same decision still counts.
  expect((await h.airlock.decide(id, genuine)).accepted).toBe(true);
  expect((await h.airlock.result(id)).status).toBe('succeeded');
});

test('sent while no worker runs, a late decision is recorded once one does', async () => {
  const { state } = rejected;
  await h.stopWorker();
  const impatient = new AirlockClient(h.client, { taskQueue: AIRLOCK_TASK_QUEUE, lateTimeoutMs: 1000 });
  const alices = signDecision(decisionPayload(state, 'alice'), 'alice', h.keysDir);
  try {
    const waiting = await late(impatient.decide(state.id, alices));
    expect(waiting.message).toContain(
      'It was handed to the workers to record in the audit log (workflow airlock-late:',
    );
    expect(waiting.outcome).toBeUndefined();
  } finally {
    await h.startWorker();
  }
  // The same decision sent again meets the same workflow, which the worker has now run.
  const done = await late(h.airlock.decide(state.id, alices));
  expect(done.outcome).toMatchObject({ recorded: true, earlier: false });
  // alice asked for the action: recorded, and marked as one who may not decide on it.
  expect((await lateRecords(state.id)).find((r) => r.approver === 'alice')?.events[0]).toMatchObject({
    data: expect.objectContaining({ excluded: true, permitted: false }),
  });
});

test('`airlock approve` of a finished action tells the approver it had ended, and that the decision was recorded', async () => {
  // bob rejected it in time; his change of mind comes too late, and is kept.
  const { state } = rejected;
  const r = await runAirlock(['approve', state.id, '--as', 'bob', '--plan', state.plan?.hash ?? '', '--yes'], {
    env: suiteCliEnv(h.keysDir),
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /has finished \(rejected\); a decision changes nothing\. Your decision was recorded in the audit log as a late decision \(record \d+\)\./,
  );
  expect((await lateRecords(state.id)).map((rec) => rec.approver).sort()).toEqual(['alice', 'bob', 'carol']);
  expect(await log.verify()).toMatchObject({ ok: true });
});
