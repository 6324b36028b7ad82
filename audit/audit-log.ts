import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  appendFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../common/canonical-json';
import { sha256Canonical } from '../crypto/sha256';

/** The hash the first record chains to. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * What a record says: `execution`, written by the activity that executes before it mints credentials (so that no
 * effect goes unrecorded, whoever scheduled it and whatever its workflow does next); `final`, the finished action's
 * record; `reservation`, a counted task's action reserved in its usage ledger, per plan (what a ledger is rebuilt
 * from, and how it knows a worker reserved it).
 */
export type AuditRecordKind = 'execution' | 'final' | 'reservation';

/** One audit record of an action's run, chained to the one before it. */
export interface AuditRecord {
  /** 1, 2, 3, ... in file order. */
  seq: number;
  kind: AuditRecordKind;
  actionId: string;
  /**
   * For an execution record: the plan it carried out (a re-approved plan is a new execution); for a reservation, the
   * plan it was reserved on (a changed plan may count more).
   */
  planHash?: string;
  runId: string;
  task: string;
  status: string;
  recordedAt: string;
  /** The same events as `airlock audit --json`. */
  events: unknown[];
  /** `hash` of the previous record (GENESIS_HASH for the first). */
  prevHash: string;
  /** sha-256 of the canonical JSON of every other field. */
  hash: string;
}

/** What `verify` found. */
export type VerifyResult =
  | { ok: true; records: number; head: string }
  | {
      ok: false;
      records: number;
      line: number;
      actionId?: string;
      problem: 'unreadable' | 'changed' | 'removed' | 'reordered';
      message: string;
    };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the log keeps in memory of a record: enough to chain the next one and to answer a retry. */
export type AuditRecordRef = Pick<
  AuditRecord,
  'seq' | 'hash' | 'kind' | 'actionId' | 'runId' | 'planHash' | 'status' | 'task'
>;

/** The records read so far, and where in which file reading stopped. */
interface LogIndex {
  dev: number;
  ino: number;
  /** Bytes read: always at the end of a whole line. */
  size: number;
  last?: AuditRecordRef;
  /** By action, run, kind and plan (see {@link keyOf}). */
  byKey: Map<string, AuditRecordRef>;
  /** Action, run and kind of every record, whatever its plan. */
  runs: Set<string>;
  /** Bytes after the last whole line when last read: a record being written, or one whose write never finished. */
  unfinished: number;
}

/**
 * An append-only JSON Lines audit log: per action run, a `final` record and, when it executed, an `execution` record
 * before it (and, for a counted task, its `reservation` records); each carries the hash of the one before (a hash chain, as CloudTrail's digest files do), so that a
 * changed, removed or reordered record is found by `verify`.
 *
 * Appends are idempotent by action, run and kind (a retried activity never writes twice; a second, different record
 * of the same kind is refused) and serialised across processes by a lock file. Truncating the newest records cannot
 * be seen from the file alone: keep the head hash `verify` prints.
 */
export class JsonlAuditLog {
  private index?: LogIndex;

  constructor(readonly path: string) {}

  /**
   * Appends a record, unless the log has one of this action, run and kind already: then returns that one if it says
   * the same (a retry), and throws if it says otherwise. Reads only what other writers appended since its last call
   * (the whole file again only if it was replaced or shrank), so an append costs the same however long the log is.
   */
  async append(entry: Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>): Promise<AuditRecordRef> {
    return this.locked(() => {
      const index = this.indexed();
      // Holding the lock, a line without its end is a write that never finished (a crash, a full disk): appending
      // after it would leave this record unreadable too.
      if (index.unfinished > 0)
        throw new Error(
          `The audit log ${this.path} ends with an incomplete record (${index.unfinished} bytes after the last full line: a write that did not finish). Nothing more is appended until it is repaired: keep a copy, remove the incomplete last line, and run \`airlock audit verify\`.`,
        );
      const existing = index.byKey.get(keyOf(entry));
      if (existing) {
        if (existing.status !== entry.status || existing.task !== entry.task) {
          throw new Error(
            `The audit log already holds a ${entry.kind} record of action ${entry.actionId} (run ${entry.runId}) with status ${existing.status}; refusing a second one with ${entry.status}.`,
          );
        }
        return existing;
      }
      const { last } = index;
      const body = { ...entry, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? GENESIS_HASH };
      const record: AuditRecord = { ...body, hash: sha256Canonical(body) };
      appendFileSync(this.path, `${canonicalJson(record)}\n`, { mode: 0o600 });
      return refOf(record);
    });
  }

  /** Whether the log holds a record of this action, run and kind (of any plan). */
  has(actionId: string, runId: string, kind: AuditRecordKind): boolean {
    return this.indexed().runs.has(runKeyOf({ actionId, runId, kind }));
  }

  /**
   * The record of this action, run, kind and plan (none for a final record), as the index holds it (sequence, hash,
   * status, task), without reading the file again.
   */
  ref(actionId: string, runId: string, kind: AuditRecordKind, planHash?: string): AuditRecordRef | undefined {
    return this.indexed().byKey.get(keyOf({ actionId, runId, kind, planHash }));
  }

  /**
   * The index, brought up to date with the file: new whole lines are read; a replaced or shorter file, again. The file
   * is opened and measured through the same descriptor: on shared storage (NFS, EFS) opening revalidates what a bare
   * `stat` may serve from a cache, and a writer chaining to a stale head would break the chain.
   */
  private indexed(): LogIndex {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return (this.index = emptyIndex(0, 0));
    }
    try {
      const st = fstatSync(fd);
      let index = this.index;
      if (!index || index.dev !== st.dev || index.ino !== st.ino || st.size < index.size)
        index = this.index = emptyIndex(st.dev, st.ino);
      if (st.size === index.size) return Object.assign(index, { unfinished: 0 });
      // From the byte before, which must end a line: otherwise the file was rewritten, and is read again.
      const from = Math.max(0, index.size - 1);
      const chunk = readRange(fd, from, st.size);
      if (index.size > 0 && chunk[0] !== 0x0a) {
        this.index = undefined;
        return this.indexed();
      }
      const text = chunk.toString('utf8', index.size > 0 ? 1 : 0);
      const whole = text.slice(0, text.lastIndexOf('\n') + 1); // a line still being written waits for the next call
      for (const line of whole.split('\n')) {
        if (!line.trim()) continue;
        const ref = refOf(JSON.parse(line) as AuditRecord);
        index.byKey.set(keyOf(ref), ref);
        index.runs.add(runKeyOf(ref));
        index.last = ref;
      }
      index.size += Buffer.byteLength(whole);
      return Object.assign(index, { unfinished: st.size - index.size });
    } finally {
      closeSync(fd);
    }
  }

  /** The records of this action, run and kind (execution records: one per plan carried out). */
  find(actionId: string, runId: string, kind: AuditRecordKind): AuditRecord[] {
    return this.read().filter((r) => r.actionId === actionId && r.runId === runId && (r.kind ?? 'final') === kind);
  }

  /** Every record, in file order (assumes an intact file; `verify` checks that). */
  read(): AuditRecord[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as AuditRecord);
  }

  /** Checks the chain; names the first record that was changed, removed or reordered. */
  verify(): VerifyResult {
    if (!existsSync(this.path)) return { ok: true, records: 0, head: GENESIS_HASH };
    const lines = readFileSync(this.path, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // A sequence number missing from the whole file was removed; one found elsewhere was moved.
    const seqs = new Set(lines.map(seqOf));
    let prev = GENESIS_HASH;
    for (const [i, line] of lines.entries()) {
      const n = i + 1;
      type Problem = Extract<VerifyResult, { ok: false }>['problem'];
      const broken = (problem: Problem, message: string, actionId?: string): VerifyResult => ({
        ok: false,
        records: lines.length,
        line: n,
        ...(actionId === undefined ? {} : { actionId }),
        problem,
        message,
      });
      let record: AuditRecord;
      try {
        record = JSON.parse(line) as AuditRecord;
      } catch {
        return broken('unreadable', `Record ${n} is not valid JSON: it was changed.`);
      }
      const { hash, ...body } = record;
      const where = `Record ${n} (action ${record.actionId})`;
      const { actionId } = record;
      if (record.seq > n && !seqs.has(n))
        return broken(
          'removed',
          `${where} has sequence number ${record.seq}: ${record.seq - n} record(s) before it were removed.`,
          actionId,
        );
      if (record.seq !== n)
        return broken('reordered', `${where} has sequence number ${record.seq}: records were reordered.`, actionId);
      if (sha256Canonical(body) !== hash)
        return broken('changed', `${where} does not match its hash: it was changed.`, actionId);
      if (record.prevHash !== prev)
        return broken(
          'changed',
          `${where} does not chain to record ${n - 1}: a record before it was changed and its hash recomputed.`,
          actionId,
        );
      prev = hash;
    }
    return { ok: true, records: lines.length, head: prev };
  }

  /** Runs `fn` holding the log's lock file (O_EXCL), so processes sharing the log append one at a time. */
  private async locked<T>(fn: () => T): Promise<T> {
    mkdirSync(dirname(this.path), { recursive: true });
    const lock = `${this.path}.lock`;
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock older than 30 s belongs to a process that died holding it.
        const held = statSync(lock, { throwIfNoEntry: false });
        if (held && Date.now() - held.mtimeMs > 30_000) unlinkSync(lock);
        if (attempt > 200)
          throw new Error(
            `The audit log ${this.path} stayed locked (${lock}); remove the lock file if no worker holds it.`,
          );
        await sleep(25);
      }
    }
    try {
      return fn();
    } finally {
      unlinkSync(lock);
    }
  }
}

function seqOf(line: string): number | undefined {
  try {
    return (JSON.parse(line) as AuditRecord).seq;
  } catch {
    return undefined;
  }
}

type KeyFields = Pick<AuditRecord, 'actionId' | 'runId' | 'kind' | 'planHash'>;

/** Action, run, kind and (for executions) plan: the key appends are idempotent by. */
function keyOf(r: KeyFields): string {
  return JSON.stringify([r.actionId, r.runId, r.kind ?? 'final', r.planHash ?? '']);
}

function runKeyOf(r: Omit<KeyFields, 'planHash'>): string {
  return JSON.stringify([r.actionId, r.runId, r.kind ?? 'final']);
}

function refOf(r: AuditRecord): AuditRecordRef {
  const { seq, hash, kind, actionId, runId, planHash, status, task } = r;
  return { seq, hash, kind: kind ?? 'final', actionId, runId, ...(planHash ? { planHash } : {}), status, task };
}

function emptyIndex(dev: number, ino: number): LogIndex {
  return { dev, ino, size: 0, byKey: new Map(), runs: new Set(), unfinished: 0 };
}

function readRange(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.alloc(to - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}
