import { appendFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlAuditLog } from '../audit/audit-log';

// The log appends from memory of what it read: these check it never chains to, or answers from, a stale memory.

const entry = (actionId: string, status = 'succeeded') => ({
  kind: 'final' as const,
  actionId,
  runId: 'r1',
  task: 'crm.add_note_to_customer',
  status,
  recordedAt: '2026-11-25T00:00:00.000Z',
  events: [{ note: `é ${actionId}` }], // not ASCII: offsets are bytes, not characters
});
const fresh = () => join(mkdtempSync(join(tmpdir(), 'airlock-audit-index-')), 'audit.jsonl');

test('two writers on one file, taking turns, keep one chain; each sees the other’s records', async () => {
  const path = fresh();
  const [a, b] = [new JsonlAuditLog(path), new JsonlAuditLog(path)];
  for (let i = 0; i < 10; i++) await (i % 2 ? a : b).append(entry(`A-${i}`));
  expect(a.has('A-3', 'r1', 'final')).toBe(true);
  expect(b.has('A-4', 'r1', 'final')).toBe(true);
  expect(a.has('A-4', 'r1', 'execution')).toBe(false);
  // A retry through the other writer gets the record back, not a second one; a different status is refused.
  expect((await a.append(entry('A-4'))).seq).toBe(5);
  await expect(b.append(entry('A-3', 'failed'))).rejects.toThrow(/refusing a second one with failed/);
  expect(new JsonlAuditLog(path).verify()).toMatchObject({ ok: true, records: 10 });
});

test('concurrent appends from many writers: every record once, in one chain', async () => {
  const path = fresh();
  const writers = Array.from({ length: 5 }, () => new JsonlAuditLog(path));
  await Promise.all(Array.from({ length: 40 }, (_, i) => writers[i % 5].append(entry(`C-${i}`))));
  const log = new JsonlAuditLog(path);
  expect(log.verify()).toMatchObject({ ok: true, records: 40 });
  expect(new Set(log.read().map((r) => r.actionId)).size).toBe(40);
});

test('a log replaced, truncated or rewritten under a writer is read again, not appended to from memory', async () => {
  const path = fresh();
  const writer = new JsonlAuditLog(path);
  await writer.append(entry('R-1'));
  await writer.append(entry('R-2'));
  const firstLine = readFileSync(path, 'utf8').split('\n')[0];

  // Truncated to its first record: the next one chains to it, and R-2 may be written again.
  writeFileSync(path, `${firstLine}\n`);
  expect(writer.has('R-2', 'r1', 'final')).toBe(false);
  expect((await writer.append(entry('R-2'))).seq).toBe(2);
  expect(new JsonlAuditLog(path).verify()).toMatchObject({ ok: true, records: 2 });

  // Replaced by another file (a new inode) with one record: the writer reads that one.
  const other = fresh();
  await new JsonlAuditLog(other).append(entry('X-1'));
  renameSync(other, path);
  expect(writer.has('R-1', 'r1', 'final')).toBe(false);
  expect((await writer.append(entry('R-3'))).seq).toBe(2);
  expect(new JsonlAuditLog(path).verify()).toMatchObject({ ok: true, records: 2 });

  // Grown by a rewrite that does not end where the writer stopped reading: read again from the start.
  const [l1, l2] = readFileSync(path, 'utf8').split('\n');
  writeFileSync(path, `${l1} \n${l2}\n`);
  expect(writer.has('R-3', 'r1', 'final')).toBe(true);
  expect(writer.has('X-1', 'r1', 'final')).toBe(true);
});

test('a line still being written is not read until it is whole', async () => {
  const path = fresh();
  const writer = new JsonlAuditLog(path);
  await writer.append(entry('P-1'));
  const other = new JsonlAuditLog(fresh());
  const whole = `${JSON.stringify({ ...(await other.append(entry('P-2'))), events: [] })}`;
  appendFileSync(path, whole.slice(0, 20));
  expect(writer.has('P-2', 'r1', 'final')).toBe(false);
  appendFileSync(path, `${whole.slice(20)}\n`);
  expect(writer.has('P-2', 'r1', 'final')).toBe(true);
});

test('a record whose write never finished stops further appends, with what to do; its reader is not misled', async () => {
  const path = fresh();
  const writer = new JsonlAuditLog(path);
  await writer.append(entry('T-1'));
  appendFileSync(path, '{"seq":2,"kind":"fin'); // a crash mid-write
  await expect(writer.append(entry('T-2'))).rejects.toThrow(
    /ends with an incomplete record .* remove the incomplete last line/,
  );
  expect(writer.has('T-1', 'r1', 'final')).toBe(true);
  // Repaired (the fragment removed), the log takes records again and stays one chain.
  writeFileSync(path, readFileSync(path, 'utf8').split('\n')[0] + '\n');
  expect((await writer.append(entry('T-2'))).seq).toBe(2);
  expect(new JsonlAuditLog(path).verify()).toMatchObject({ ok: true, records: 2 });
});
