import { sha256Canonical } from '../crypto/sha256';
import { GENESIS_HASH, type AuditCheckpoint, type AuditRecord, type VerifyResult } from './audit-store';

type Failure = Extract<VerifyResult, { ok: false }>;

/**
 * Checks a log's records one at a time, in log order, as any store reads them (a file's lines, a table's items), so
 * that a log of any length is checked in one pass without holding it: each record must be readable, carry the
 * sequence number of its place, match its hash and chain to the one before. Then, given a checkpoint written
 * elsewhere, the log must reach it (else its newest records were removed) and hold the hash it names.
 *
 * The first problem wins. A record whose sequence number is ahead of its place means records before it were removed,
 * unless that missing number turns up later in the log: then records were moved (so reading goes on, noting numbers).
 */
export class ChainVerifier {
  private n = 0;
  private prev = GENESIS_HASH;
  private failure?: Failure;
  /** The sequence number whose absence makes a pending failure "removed" rather than "reordered", and that message. */
  private missing?: { seq: number; reordered: string };
  private atCheckpoint?: string;

  /** @param checkpoint the checkpoint to compare with: it must be read before the log, so a newer append is no alarm. */
  constructor(private readonly checkpoint?: AuditCheckpoint) {}

  /** The next record, as stored (text that should be one record's JSON). */
  push(raw: string): void {
    const n = ++this.n;
    if (this.failure) {
      if (this.missing && seqOf(raw) === this.missing.seq) {
        this.failure = { ...this.failure, problem: 'reordered', message: this.missing.reordered };
        this.missing = undefined;
      }
      return;
    }
    let record: AuditRecord;
    try {
      record = JSON.parse(raw) as AuditRecord;
      if (!record || typeof record !== 'object') throw new Error('not a record');
    } catch {
      this.fail(n, 'unreadable', `Record ${n} is not valid JSON: it was changed.`);
      return;
    }
    const { hash, ...body } = record;
    const where = `Record ${n} (action ${record.actionId})`;
    const { actionId } = record;
    const reordered = `${where} has sequence number ${record.seq}: records were reordered.`;
    if (typeof record.seq === 'number' && record.seq > n) {
      const removed = `${where} has sequence number ${record.seq}: ${record.seq - n} record(s) before it were removed.`;
      this.fail(n, 'removed', removed, actionId);
      this.missing = { seq: n, reordered };
      return;
    }
    if (record.seq !== n) {
      this.fail(n, 'reordered', reordered, actionId);
      return;
    }
    if (sha256Canonical(body) !== hash) {
      this.fail(n, 'changed', `${where} does not match its hash: it was changed.`, actionId);
      return;
    }
    if (record.prevHash !== this.prev) {
      this.fail(
        n,
        'changed',
        `${where} does not chain to record ${n - 1}: a record before it was changed and its hash recomputed.`,
        actionId,
      );
      return;
    }
    if (this.checkpoint && n === this.checkpoint.seq) this.atCheckpoint = hash;
    this.prev = hash;
  }

  /**
   * The verdict, once every record was pushed. `head`, when the store keeps its own head apart from the records
   * (the table's head item), must not be ahead of them either. `after`, for a store that advances its checkpoint in
   * the same write as each record: the checkpoint read again after the log (none: there was none), which no record
   * may be beyond (one that is was not written by an append).
   */
  finish(head?: { seq: number; where: string }, after?: { checkpoint?: AuditCheckpoint }): VerifyResult {
    const records = this.n;
    if (this.failure) return { ...this.failure, records };
    const cp = this.checkpoint;
    const truncated = (expected: number, by: string): VerifyResult => ({
      ok: false,
      records,
      line: records + 1,
      problem: 'truncated',
      message: `The log ends at record ${records}, but ${by} says it held ${expected}: the newest ${expected - records} record(s) were removed. Restore them from a backup; records appended since are intact up to record ${records}.`,
    });
    if (cp && cp.seq > records)
      return truncated(cp.seq, `its checkpoint (written ${cp.at}, hash ${cp.hash.slice(0, 12)}…)`);
    if (head && head.seq > records) return truncated(head.seq, head.where);
    const last = after && (after.checkpoint?.seq ?? 0);
    if (after && last !== undefined && records > last)
      return {
        ok: false,
        records,
        line: last + 1,
        problem: 'changed',
        message: after.checkpoint
          ? `Record ${last + 1} is beyond the checkpoint read after the log (record ${last}, written ${after.checkpoint.at}): it was not written by a worker's append, which advances both at once.`
          : `The log has ${records} record(s) but no checkpoint: the checkpoint was removed, or the records were not written by a worker's append (which writes both at once).`,
      };
    if (cp && cp.seq > 0 && this.atCheckpoint !== cp.hash)
      return {
        ok: false,
        records,
        line: cp.seq,
        problem: 'changed',
        message: `Record ${cp.seq} does not have the hash its checkpoint names (${cp.hash.slice(0, 12)}…, written ${cp.at}): the log was rewritten from there, hashes and all.`,
      };
    return { ok: true, records, head: this.prev, ...(cp ? { checkpoint: cp } : {}) };
  }

  private fail(line: number, problem: Failure['problem'], message: string, actionId?: string): void {
    this.failure = {
      ok: false,
      records: 0,
      line,
      ...(actionId === undefined ? {} : { actionId }),
      problem,
      message,
    };
  }
}

function seqOf(raw: string): number | undefined {
  try {
    return (JSON.parse(raw) as AuditRecord).seq;
  } catch {
    return undefined;
  }
}
