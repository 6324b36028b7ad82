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
import {
  GENESIS_HASH,
  recordKey,
  refOf,
  runKey,
  secondRecordError,
  type AuditEntry,
  type AuditRecord,
  type AuditRecordKind,
  type AuditRecordRef,
  type AuditStore,
  type VerifyResult,
} from './audit-store';
import { ChainVerifier } from './chain-verifier';
import { FileCheckpoint } from './file-checkpoint';

// The record's types were first defined here; importers of this module keep them.
export { GENESIS_HASH, type AuditRecord, type AuditRecordKind, type AuditRecordRef, type VerifyResult };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The records read so far, and where in which file reading stopped. */
interface LogIndex {
  dev: number;
  ino: number;
  /** Bytes read: always at the end of a whole line. */
  size: number;
  last?: AuditRecordRef;
  /** By action, run, kind, plan and approver (see {@link recordKey}). */
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
 * be seen from the file alone: give it a checkpoint file (`checkpointPath`, ideally where the log's writers cannot
 * rewrite it), advanced after every append, which `verify` compares the log with; or keep the head hash `verify`
 * prints.
 */
export class JsonlAuditLog implements AuditStore {
  private index?: LogIndex;
  private readonly checkpoint?: FileCheckpoint;

  constructor(
    readonly path: string,
    opts: { checkpointPath?: string } = {},
  ) {
    if (opts.checkpointPath) this.checkpoint = new FileCheckpoint(opts.checkpointPath);
  }

  /** The file, for messages. */
  get where(): string {
    return this.path;
  }

  /**
   * Appends a record, unless the log has one of this action, run and kind already: then returns that one if it says
   * the same (a retry), and throws if it says otherwise. Reads only what other writers appended since its last call
   * (the whole file again only if it was replaced or shrank), so an append costs the same however long the log is.
   */
  async append(entry: AuditEntry): Promise<AuditRecordRef> {
    return this.locked(() => {
      const index = this.indexed();
      // Holding the lock, a line without its end is a write that never finished (a crash, a full disk): appending
      // after it would leave this record unreadable too.
      if (index.unfinished > 0)
        throw new Error(
          `The audit log ${this.path} ends with an incomplete record (${index.unfinished} bytes after the last full line: a write that did not finish). Nothing more is appended until it is repaired: keep a copy, remove the incomplete last line, and run \`airlock audit verify\`.`,
        );
      const existing = index.byKey.get(recordKey(entry));
      if (existing) {
        if (existing.status !== entry.status || existing.task !== entry.task) throw secondRecordError(entry, existing);
        return existing;
      }
      const { last } = index;
      // A log behind its checkpoint lost its newest records: chaining to what is left would hide that.
      const checkpoint = this.checkpoint?.read();
      if (checkpoint && checkpoint.seq > (last?.seq ?? 0))
        throw new Error(
          `The audit log ${this.path} ends at record ${last?.seq ?? 0}, but its checkpoint ${this.checkpoint?.path} says it held ${checkpoint.seq}: its newest records were removed. Nothing more is appended until it is restored: run \`airlock audit verify\`, and restore the log from a backup.`,
        );
      const body = { ...entry, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? GENESIS_HASH };
      const record: AuditRecord = { ...body, hash: sha256Canonical(body) };
      appendFileSync(this.path, `${canonicalJson(record)}\n`, { mode: 0o600 });
      // After the record, under the lock: a crash in between leaves the checkpoint one behind, which is no alarm.
      this.checkpoint?.write({ seq: record.seq, hash: record.hash, at: new Date().toISOString() });
      return refOf(record);
    });
  }

  /** Whether the log holds a record of this action, run and kind (of any plan). */
  has(actionId: string, runId: string, kind: AuditRecordKind): boolean {
    return this.indexed().runs.has(runKey({ actionId, runId, kind }));
  }

  /**
   * The record of this action, run, kind, plan and approver (none for a final record), as the index holds it
   * (sequence, hash, status, task), without reading the file again.
   */
  ref(
    actionId: string,
    runId: string,
    kind: AuditRecordKind,
    planHash?: string,
    approver?: string,
  ): AuditRecordRef | undefined {
    return this.indexed().byKey.get(recordKey({ actionId, runId, kind, planHash, approver }));
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
        index.byKey.set(recordKey(ref), ref);
        index.runs.add(runKey(ref));
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

  /**
   * Checks the chain; names the first record that was changed, removed or reordered, and, against the checkpoint,
   * whether the newest records were removed.
   */
  verify(): VerifyResult {
    // The checkpoint first: an append between the two reads then only makes the log longer than it.
    const verifier = new ChainVerifier(this.checkpoint?.read());
    if (existsSync(this.path)) {
      const lines = readFileSync(this.path, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const line of lines) verifier.push(line);
    }
    return verifier.finish();
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
