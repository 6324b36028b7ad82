import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { auditTrail } from '../audit/audit-trail';
import { JsonlAuditLog } from '../audit/audit-log';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';
import { runAirlock } from './support/cli';
import { startHarness, type Harness } from './support/harness';

let h: Harness;
const ids: string[] = [];
beforeAll(async () => {
  h = await startHarness();
  // Four finished actions: succeeded, invalid, denied, rejected.
  const alice = { agent: 'support-bot', user: 'alice' };
  const run = async (p: Parameters<Harness['airlock']['propose']>[0], decide?: (id: string) => Promise<unknown>) => {
    const { id } = await h.airlock.propose(p);
    if (decide) {
      await h.airlock.waitFor(id, ['awaiting_approval']);
      await decide(id);
    }
    await h.airlock.result(id);
    ids.push(id);
  };
  await run({ task: 'crm.add_note_to_customer', input: { customerId: 'C-1001', note: 'one' }, ...alice });
  await run({ task: 'crm.add_note_to_customer', input: { customerId: 'nope', note: 'two' }, ...alice });
  await run({ task: 'crm.add_note_to_customer', input: { customerId: 'C-1001', note: 'three' }, agent: 'other-bot' });
  await run(
    { task: 'crm.update_customer', input: { customerId: 'C-1002', changes: { tier: 'gold' } }, ...alice },
    (id) => h.decide(id, 'bob', 'reject', { reason: 'no' }),
  );
});
afterAll(async () => {
  await h?.close();
});

const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
const verifyCli = (file: string) => runAirlock(['audit', 'verify', '--file', file]);

test('every finished action is appended once, after the record its execution wrote, with the events of `airlock audit`, in an intact chain', async () => {
  const log = new JsonlAuditLog(h.auditLogPath);
  const records = log.read();
  expect(records.map((r) => [r.kind, r.actionId, r.status])).toEqual([
    ['execution', ids[0], 'executing'],
    ['final', ids[0], 'succeeded'],
    ['final', ids[1], 'invalid'],
    ['final', ids[2], 'denied'],
    ['final', ids[3], 'rejected'],
  ]);
  expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(log.verify()).toEqual({ ok: true, records: 5, head: records[4].hash });
  expect(records[0].events).toEqual([
    expect.objectContaining({
      kind: 'execution_started',
      data: expect.objectContaining({ agent: 'support-bot', user: 'alice', approvers: [] }),
    }),
  ]);

  // An action its first step carried out is recorded by that step: what it witnessed, each event with the data the
  // trail reads from history (the time is the step's own), then the outcome.
  const trail = await auditTrail(h.client, ids[0]);
  const witnessed = records[1].events as { kind: string; summary: string; data: unknown }[];
  expect(witnessed.map((e) => e.kind)).toEqual([
    'proposed',
    'validated',
    'policy_decided',
    'planned',
    'executed',
    'finished',
  ]);
  for (const e of witnessed.slice(0, -1)) expect(trail.find((t) => t.kind === e.kind)?.data).toEqual(e.data);
  expect(witnessed.at(-1)).toMatchObject({ kind: 'finished', summary: 'finished: succeeded' });

  // Any other end is recorded from history, once the run's last task is in it: every event up to then, then the outcome.
  const fromHistory = await auditTrail(h.client, ids[3]);
  const recorded = records[4].events as { kind: string; summary: string }[];
  expect(recorded.slice(0, -1)).toEqual(fromHistory.slice(0, recorded.length - 1));
  expect(recorded.at(-1)).toMatchObject({ kind: 'finished', summary: 'finished: rejected' });
  expect(recorded.map((e) => e.kind)).toEqual(
    expect.arrayContaining(['proposed', 'policy_decided', 'planned', 'decision_recorded']),
  );

  expect(statSync(h.auditLogPath).mode & 0o777).toBe(0o600); // decrypted events: only the worker's user reads them
  const cli = await verifyCli(h.auditLogPath);
  expect(cli.code).toBe(0);
  expect(cli.out).toContain(`5 record(s), chain intact; head ${records[4].hash}`);
});

test('a retried audit activity writes no second record', async () => {
  const before = lines(h.auditLogPath);
  const state = await h.airlock.get(ids[0]);
  const { recordAudit } = createActivities(h.activityDeps());
  // The activity reads who scheduled it from Temporal's activity info, never from its arguments.
  const env = new MockActivityEnvironment({
    attempt: 2,
    workflowExecution: { workflowId: state.id, runId: state.runId },
  });
  const counts = { status: state.status, refusedBeforeHistory: { total: 0, byCode: {} }, refusalsNotKept: 0 };
  const again = (await env.run(recordAudit, counts)) as { seq: number; hash: string };
  const third = await env.run(recordAudit, counts);
  expect(again).toEqual(third);
  expect(again.seq).toBe(2);
  // A caller naming another final status than the one history holds is refused, whatever it names.
  for (const status of ['rejected', 'expired', 'denied'].filter((s) => s !== state.status)) {
    await expect(env.run(recordAudit, { ...counts, status })).rejects.toMatchObject({
      type: 'AIRLOCK_EVIDENCE',
      message: expect.stringMatching(new RegExp(`ended "${state.status}" in its history, not "${status}"`)),
    });
  }
  expect(lines(h.auditLogPath)).toEqual(before);
});

describe('verify names the first record that was tampered with', () => {
  const copy = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'airlock-audit-')), 'audit.jsonl');
    copyFileSync(h.auditLogPath, file);
    return file;
  };

  test('one changed byte', async () => {
    const file = copy();
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('"status":"invalid"') + 10; // inside record 3
    writeFileSync(file, text.slice(0, at) + 'X' + text.slice(at + 1));
    expect(new JsonlAuditLog(file).verify()).toMatchObject({
      ok: false,
      line: 3,
      actionId: ids[1],
      problem: 'changed',
    });
    const cli = await verifyCli(file);
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`Record 3 (action ${ids[1]}) does not match its hash: it was changed.`);
  });

  test('a changed record whose hash was recomputed breaks the next link', () => {
    const file = copy();
    const records = lines(file).map((l) => JSON.parse(l));
    records[2].status = 'succeeded';
    const { hash: _old, ...body } = records[2];
    records[2].hash = createHash('sha256').update(canonicalJson(body)).digest('hex');
    writeFileSync(file, records.map((r) => canonicalJson(r)).join('\n') + '\n');
    expect(new JsonlAuditLog(file).verify()).toMatchObject({
      ok: false,
      line: 4,
      actionId: ids[2],
      problem: 'changed',
    });
  });

  test('a deleted record', () => {
    const file = copy();
    const all = lines(file);
    writeFileSync(file, [all[0], all[1], all[3], all[4]].join('\n') + '\n');
    expect(new JsonlAuditLog(file).verify()).toMatchObject({
      ok: false,
      line: 3,
      actionId: ids[2],
      problem: 'removed',
    });
  });

  test('two swapped records', () => {
    const file = copy();
    const all = lines(file);
    writeFileSync(file, [all[0], all[1], all[3], all[2], all[4]].join('\n') + '\n');
    expect(new JsonlAuditLog(file).verify()).toMatchObject({
      ok: false,
      line: 3,
      actionId: ids[2],
      problem: 'reordered',
    });
  });
});
