import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { JsonlAuditLog } from '../audit/audit-log';
import type { AuditEntry, AuditRecord } from '../audit/audit-store';
import { DynamoDbAuditLog } from '../audit/dynamodb-audit-log';
import { provisionAuditTables } from '../audit/provision-audit-tables';
import { canonicalJson } from '../common/canonical-json';
import { auditStoreConfigFromEnv, workerConfigFromEnv } from '../config/runtime-config';
import { sha256Canonical } from '../crypto/sha256';
import { MOTO_ADMIN } from '../stack/moto';
import { loadDevConfig } from '../stack/dev-config';
import { runAirlock, suiteCliEnv } from './support/cli';
import { startHarness, type Harness } from './support/harness';
import { startSerialMoto } from './support/serial-moto';
import { testEnv } from './support/test-env';

// The DynamoDB audit store against moto's real DynamoDB API (no mocks): many writers, one chain; idempotent appends;
// tampering found as the file's verify finds it; the newest records' removal found through the checkpoint table.

const region = loadDevConfig().moto.region;
const ddb = new DynamoDBClient({ region, endpoint: testEnv('motoEndpoint'), credentials: MOTO_ADMIN });
afterAll(() => ddb.destroy());

/** A fresh pair of tables (moto is shared by the whole suite). */
async function freshTables(client = ddb) {
  const tables = { table: `audit-${randomUUID()}`, checkpointTable: `audit-checkpoint-${randomUUID()}` };
  await provisionAuditTables(client, tables);
  return tables;
}
const storeOn = (tables: { table: string; checkpointTable: string }, endpoint = testEnv('motoEndpoint')) =>
  new DynamoDbAuditLog({ aws: { region, endpoint, credentials: MOTO_ADMIN }, ...tables });

const entry = (actionId: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  kind: 'final',
  actionId,
  runId: 'r1',
  task: 'crm.add_note_to_customer',
  status: 'succeeded',
  recordedAt: '2026-11-25T00:00:00.000Z',
  events: [{ note: `é ${actionId}` }],
  ...extra,
});

const recordKeyOf = (seq: number) => ({ pk: { S: 'log' }, sk: { S: String(seq).padStart(16, '0') } });
const storedRecord = async (table: string, seq: number): Promise<AuditRecord> => {
  const out = await ddb.send(new GetItemCommand({ TableName: table, Key: recordKeyOf(seq), ConsistentRead: true }));
  return JSON.parse(out.Item?.record?.S ?? 'null') as AuditRecord;
};
const putRecord = (table: string, seq: number, record: unknown) =>
  ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: { ...recordKeyOf(seq), seq: { N: String(seq) }, record: { S: canonicalJson(record) } },
    }),
  );
/** A log of `n` records written by one store. */
async function logOf(n: number) {
  const tables = await freshTables();
  const log = storeOn(tables);
  for (let i = 1; i <= n; i++) await log.append(entry(`A-${i}`));
  return { tables, log };
}

// moto_server runs requests on threads with no isolation for transactions (see serial-moto.ts): many writers at once
// are tested against a moto that serves one request at a time, as DynamoDB isolates transactions.
describe('many writers at once', () => {
  const serial = {} as { moto: Awaited<ReturnType<typeof startSerialMoto>>; client: DynamoDBClient };
  beforeAll(async () => {
    serial.moto = await startSerialMoto();
    serial.client = new DynamoDBClient({ region, endpoint: serial.moto.endpoint, credentials: MOTO_ADMIN });
  });
  afterAll(async () => {
    serial.client?.destroy();
    await serial.moto?.stop();
  });

  test('three stores appending 50 records each, all at once, write one chain of 150 with no gap, checkpointed at its head', async () => {
    const tables = await freshTables(serial.client);
    const writers = [0, 1, 2].map(() => storeOn(tables, serial.moto.endpoint));
    const refs = await Promise.all(
      Array.from({ length: 150 }, (_, i) => writers[i % 3].append(entry(`C-${i}`, { runId: `w${i % 3}` }))),
    );
    expect(new Set(refs.map((r) => r.seq)).size).toBe(150);
    const reader = storeOn(tables, serial.moto.endpoint);
    const records = await reader.read();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.actionId)).size).toBe(150);
    const verdict = await reader.verify();
    expect(verdict).toMatchObject({ ok: true, records: 150, head: records[149].hash });
    expect(await reader.checkpoint()).toMatchObject({ seq: 150, hash: records[149].hash });
    // Every writer's answer is the record the table holds.
    for (const ref of refs) expect(records[ref.seq - 1]).toMatchObject({ hash: ref.hash, actionId: ref.actionId });
  });

  test('the same retry from two writers at once is one record', async () => {
    const tables = await freshTables(serial.client);
    const [a, b] = [storeOn(tables, serial.moto.endpoint), storeOn(tables, serial.moto.endpoint)];
    await a.append(entry('R-1'));
    const both = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).append(entry(`R-${2 + (i >> 1)}`))),
    );
    for (let i = 0; i < 10; i += 2) expect(both[i]).toEqual(both[i + 1]);
    expect(await a.verify()).toMatchObject({ ok: true, records: 6 });
  });
});

test('the table and the file hold the same chain, and answer has, ref and find alike', async () => {
  const tables = await freshTables();
  const table = storeOn(tables);
  const file = new JsonlAuditLog(join(mkdtempSync(join(tmpdir(), 'airlock-audit-')), 'audit.jsonl'));
  const entries = [
    entry('A-1', { kind: 'reservation', status: 'reserved', planHash: 'a'.repeat(64) }),
    entry('A-1', { kind: 'reservation', status: 'reserved', planHash: 'b'.repeat(64) }),
    entry('A-1', { kind: 'execution', status: 'executing', planHash: 'b'.repeat(64) }),
    entry('A-1'),
    entry('A-2', { kind: 'late_decision', status: 'rejected', approver: 'bob' }),
    entry('A-2', { kind: 'late_decision', status: 'rejected', approver: 'carol' }),
  ];
  for (const e of entries) expect(await table.append(e)).toEqual(await file.append(e));
  expect(await table.read()).toEqual(file.read());
  for (const kind of ['reservation', 'execution', 'final', 'late_decision'] as const) {
    for (const actionId of ['A-1', 'A-2', 'A-3']) {
      expect(await table.has(actionId, 'r1', kind)).toBe(file.has(actionId, 'r1', kind));
      expect(await table.find(actionId, 'r1', kind)).toEqual(file.find(actionId, 'r1', kind));
    }
  }
  expect(await table.ref('A-1', 'r1', 'reservation', 'b'.repeat(64))).toEqual(
    file.ref('A-1', 'r1', 'reservation', 'b'.repeat(64)),
  );
  expect(await table.ref('A-2', 'r1', 'late_decision', undefined, 'carol')).toMatchObject({ seq: 6 });
  expect(await table.ref('A-2', 'r1', 'late_decision', undefined, 'dave')).toBeUndefined();
  const fileVerdict = file.verify();
  expect(fileVerdict.ok).toBe(true);
  expect(await table.verify()).toMatchObject({ ok: true, records: 6, head: fileVerdict.ok && fileVerdict.head });
});

test('a retried append gets its record back, from any writer; a different second record of the same key is refused', async () => {
  const tables = await freshTables();
  const [a, b] = [storeOn(tables), storeOn(tables)];
  const first = await a.append(entry('R-1'));
  await a.append(entry('R-2'));
  expect(await b.append(entry('R-1'))).toEqual(first);
  await expect(b.append(entry('R-1', { status: 'failed' }))).rejects.toThrow(/refusing a second one with failed/);
  expect(await a.verify()).toMatchObject({ ok: true, records: 2 });
});

test('a record longer than a DynamoDB item holds is stored compressed and verifies', async () => {
  const tables = await freshTables();
  const log = storeOn(tables);
  const long = Array.from({ length: 4000 }, (_, i) => ({ i, text: `event ${i} `.repeat(12) }));
  await log.append(entry('L-1', { events: long }));
  await log.append(entry('L-2'));
  expect((await log.read())[0].events).toEqual(long);
  expect(await log.verify()).toMatchObject({ ok: true, records: 2 });
});

describe('verify names what was done to the table', () => {
  test('a changed record', async () => {
    const { tables, log } = await logOf(5);
    const record = await storedRecord(tables.table, 3);
    await putRecord(tables.table, 3, { ...record, status: 'rejected' });
    expect(await log.verify()).toMatchObject({ ok: false, line: 3, actionId: 'A-3', problem: 'changed' });
  });

  test('a changed record whose hash was recomputed breaks the next link', async () => {
    const { tables, log } = await logOf(5);
    const { hash: _old, ...body } = await storedRecord(tables.table, 3);
    const changed = { ...body, status: 'rejected' };
    await putRecord(tables.table, 3, { ...changed, hash: sha256Canonical(changed) });
    expect(await log.verify()).toMatchObject({ ok: false, line: 4, actionId: 'A-4', problem: 'changed' });
  });

  test('a removed record', async () => {
    const { tables, log } = await logOf(5);
    await ddb.send(new DeleteItemCommand({ TableName: tables.table, Key: recordKeyOf(3) }));
    expect(await log.verify()).toMatchObject({ ok: false, line: 3, actionId: 'A-4', problem: 'removed' });
  });

  test('two records swapped', async () => {
    const { tables, log } = await logOf(5);
    const [three, four] = [await storedRecord(tables.table, 3), await storedRecord(tables.table, 4)];
    await putRecord(tables.table, 3, four);
    await putRecord(tables.table, 4, three);
    expect(await log.verify()).toMatchObject({ ok: false, line: 3, actionId: 'A-4', problem: 'reordered' });
  });

  test('the newest records removed, and the head item set back to match: the checkpoint shows it, and nothing more is appended', async () => {
    const { tables, log } = await logOf(5);
    const three = await storedRecord(tables.table, 3);
    for (const seq of [4, 5]) await ddb.send(new DeleteItemCommand({ TableName: tables.table, Key: recordKeyOf(seq) }));
    await ddb.send(
      new UpdateItemCommand({
        TableName: tables.table,
        Key: { pk: { S: 'head' }, sk: { S: 'head' } },
        UpdateExpression: 'SET #seq = :seq, #hash = :hash',
        ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' },
        ExpressionAttributeValues: { ':seq': { N: '3' }, ':hash': { S: three.hash } },
      }),
    );
    const verdict = await log.verify();
    expect(verdict).toMatchObject({ ok: false, records: 3, line: 4, problem: 'truncated' });
    expect(verdict.ok === false && verdict.message).toMatch(
      /The log ends at record 3, but its checkpoint .* says it held 5: the newest 2 record\(s\) were removed/,
    );
    // A writer would chain record 4 to what is left and hide the loss: it is refused, and the table is as it was.
    await expect(storeOn(tables).append(entry('A-6'))).rejects.toThrow(/the newest records were removed/);
    expect((await log.read()).map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  test('the newest records removed, head left alone: found too', async () => {
    const { tables, log } = await logOf(4);
    await ddb.send(new DeleteItemCommand({ TableName: tables.table, Key: recordKeyOf(4) }));
    expect(await log.verify()).toMatchObject({ ok: false, records: 3, problem: 'truncated' });
  });

  test('a record added after the last, chained and hashed as an append would', async () => {
    const { tables, log } = await logOf(3);
    const last = await storedRecord(tables.table, 3);
    const body = { ...entry('A-4'), seq: 4, prevHash: last.hash };
    await putRecord(tables.table, 4, { ...body, hash: sha256Canonical(body) });
    expect(await log.verify()).toMatchObject({ ok: false, records: 4, line: 4, problem: 'changed' });
  });

  test('the log rewritten from the checkpointed record on, hashes and all', async () => {
    const { tables, log } = await logOf(3);
    const { hash: _old, ...body } = await storedRecord(tables.table, 3);
    const changed = { ...body, status: 'failed' };
    await putRecord(tables.table, 3, { ...changed, hash: sha256Canonical(changed) });
    expect(await log.verify()).toMatchObject({ ok: false, line: 3, problem: 'changed' });
  });
});

test('the file log with a checkpoint file: removing its last lines is found, and stops appends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-audit-'));
  const [path, checkpointPath] = [join(dir, 'audit.jsonl'), join(dir, 'checkpoint.json')];
  const log = new JsonlAuditLog(path, { checkpointPath });
  for (let i = 1; i <= 4; i++) await log.append(entry(`F-${i}`));
  expect(log.verify()).toMatchObject({ ok: true, records: 4, checkpoint: { seq: 4 } });
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  writeFileSync(path, `${lines.slice(0, 2).join('\n')}\n`);
  expect(new JsonlAuditLog(path, { checkpointPath }).verify()).toMatchObject({
    ok: false,
    records: 2,
    problem: 'truncated',
  });
  // Without the checkpoint the shorter file looks whole: what the checkpoint is for.
  expect(new JsonlAuditLog(path).verify()).toMatchObject({ ok: true, records: 2 });
  await expect(new JsonlAuditLog(path, { checkpointPath }).append(entry('F-5'))).rejects.toThrow(
    /its newest records were removed/,
  );
  expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(2);
  // Put back, the log verifies and appends again.
  appendFileSync(path, `${lines.slice(2).join('\n')}\n`);
  await new JsonlAuditLog(path, { checkpointPath }).append(entry('F-5'));
  expect(new JsonlAuditLog(path, { checkpointPath }).verify()).toMatchObject({ ok: true, records: 5 });
});

describe('airlock audit', () => {
  // The suite's Temporal and keys (so no local stack profile is read), and moto's DynamoDB.
  const env = (extra: NodeJS.ProcessEnv = {}) =>
    suiteCliEnv(tmpdir(), {
      AWS_REGION: region,
      AWS_ENDPOINT_URL: testEnv('motoEndpoint'),
      AWS_ACCESS_KEY_ID: MOTO_ADMIN.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_ADMIN.secretAccessKey,
      AIRLOCK_AUDIT_LOG: '',
      ...extra,
    });

  test('create-tables makes both tables; verify --table checks the chain and its checkpoint', async () => {
    const table = `audit-${randomUUID()}`;
    const checkpointTable = `audit-checkpoint-${randomUUID()}`;
    const made = await runAirlock(['audit', 'create-tables', '--table', table, '--checkpoint-table', checkpointTable], {
      env: env(),
    });
    expect(made.out).toContain(`Audit tables ready: ${table} (log) and ${checkpointTable} (checkpoint).`);
    expect(made.code).toBe(0);
    const log = storeOn({ table, checkpointTable });
    for (let i = 1; i <= 3; i++) await log.append(entry(`V-${i}`));
    const head = (await log.read())[2].hash;

    const ok = await runAirlock(['audit', 'verify', '--table', table, '--checkpoint-table', checkpointTable], {
      env: env(),
    });
    expect(ok.out).toContain(`DynamoDB table ${table}: 3 record(s), chain intact; head ${head}; checkpoint of`);
    expect(ok.code).toBe(0);
    // From the environment, as a deployment sets it.
    const json = await runAirlock(['audit', 'verify', '--json'], {
      env: env({ AIRLOCK_AUDIT_TABLE: table, AIRLOCK_AUDIT_CHECKPOINT_TABLE: checkpointTable }),
    });
    expect(JSON.parse(json.stdout)).toMatchObject({ table, ok: true, records: 3, head, checkpoint: { seq: 3 } });

    await ddb.send(new DeleteItemCommand({ TableName: table, Key: recordKeyOf(3) }));
    const bad = await runAirlock(['audit', 'verify', '--table', table, '--checkpoint-table', checkpointTable], {
      env: env(),
    });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('The log ends at record 2, but its checkpoint');

    const noCheckpoint = await runAirlock(['audit', 'verify', '--table', table], { env: env() });
    expect(noCheckpoint.code).toBe(1);
    expect(noCheckpoint.out).toContain('Pass --checkpoint-table <name>');
  });
});

test('the worker takes exactly one audit log from its environment, and says what to set', () => {
  const base = {
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    AWS_REGION: 'us-east-1',
    AIRLOCK_AWS_ACCOUNT_ID: '123456789012',
    AIRLOCK_POLICIES_DIR: 'policies',
    AIRLOCK_APPROVERS_FILE: 'a.json',
    AIRLOCK_AGENTS_FILE: 'b.json',
    AIRLOCK_CODEC_KEYS: testEnv('codecKeys'),
  };
  expect(
    workerConfigFromEnv({ ...base, AIRLOCK_AUDIT_TABLE: 'audit', AIRLOCK_AUDIT_CHECKPOINT_TABLE: 'audit-head' }).audit,
  ).toEqual({ kind: 'dynamodb', table: 'audit', checkpointTable: 'audit-head' });
  expect(workerConfigFromEnv({ ...base, AIRLOCK_AUDIT_LOG: '/var/airlock/audit.jsonl' }).audit).toEqual({
    kind: 'file',
    path: '/var/airlock/audit.jsonl',
  });
  expect(() => workerConfigFromEnv(base)).toThrow(
    /AIRLOCK_AUDIT_LOG \(the audit log: a JSON Lines file, or AIRLOCK_AUDIT_TABLE/,
  );
  expect(() => auditStoreConfigFromEnv({ AIRLOCK_AUDIT_LOG: 'a.jsonl', AIRLOCK_AUDIT_TABLE: 'audit' })).toThrow(
    /Both AIRLOCK_AUDIT_LOG .* and AIRLOCK_AUDIT_TABLE .* are set/,
  );
  expect(() => auditStoreConfigFromEnv({ AIRLOCK_AUDIT_TABLE: 'audit' })).toThrow(
    /AIRLOCK_AUDIT_CHECKPOINT_TABLE is not: set it to a second table/,
  );
  expect(() =>
    auditStoreConfigFromEnv({ AIRLOCK_AUDIT_TABLE: 'audit', AIRLOCK_AUDIT_CHECKPOINT_TABLE: 'audit' }),
  ).toThrow(/names the same table/);
});

describe('a worker on the DynamoDB audit store', () => {
  let h: Harness;
  let tables: { table: string; checkpointTable: string };
  beforeAll(async () => {
    tables = await freshTables();
    h = await startHarness({ auditStore: storeOn(tables) });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('records an executed action (execution, then final) in the table, in one intact chain', async () => {
    const { id } = await h.airlock.propose({
      task: 'crm.add_note_to_customer',
      input: { customerId: 'C-1001', note: 'kept in DynamoDB' },
      agent: 'support-bot',
      user: 'alice',
    });
    const final = await h.airlock.result(id);
    expect(final.status).toBe('succeeded');
    const log = storeOn(tables);
    expect((await log.read()).map((r) => [r.kind, r.actionId, r.status])).toEqual([
      ['execution', id, 'executing'],
      ['final', id, 'succeeded'],
    ]);
    expect(await log.verify()).toMatchObject({ ok: true, records: 2 });
  });
});
