/** The hash the first record chains to. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * What a record says: `execution`, written by the activity that executes before it mints credentials (so that no
 * effect goes unrecorded, whoever scheduled it and whatever its workflow does next); `final`, the finished action's
 * record; `reservation`, a counted task's action reserved in its usage ledger, per plan (what a ledger is rebuilt
 * from, and how it knows a worker reserved it); `late_decision`, an approver's signed decision that arrived after the
 * action had ended (it changed nothing; one per approver and action run).
 */
export type AuditRecordKind = 'execution' | 'final' | 'reservation' | 'late_decision';

/** One audit record of an action's run, chained to the one before it. */
export interface AuditRecord {
  /** 1, 2, 3, ... in log order. */
  seq: number;
  kind: AuditRecordKind;
  actionId: string;
  /**
   * For an execution record: the plan it carried out (a re-approved plan is a new execution); for a reservation, the
   * plan it was reserved on (a changed plan may count more).
   */
  planHash?: string;
  /** For a late decision: the approver who signed it (canonical id). */
  approver?: string;
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

/** What a writer hands a store: the store numbers and chains it. */
export type AuditEntry = Omit<AuditRecord, 'seq' | 'prevHash' | 'hash'>;

/** What a store keeps at hand of a record: enough to chain the next one and to answer a retry. */
export type AuditRecordRef = Pick<
  AuditRecord,
  'seq' | 'hash' | 'kind' | 'actionId' | 'runId' | 'planHash' | 'approver' | 'status' | 'task'
>;

/** The newest record a log had, written somewhere else than the log, so that removing the newest records shows. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** When it was written (ISO 8601). */
  at: string;
}

/** What `verify` found. */
export type VerifyResult =
  | {
      ok: true;
      records: number;
      head: string;
      /** The checkpoint the log was compared with, when it has one. */
      checkpoint?: AuditCheckpoint;
    }
  | {
      ok: false;
      records: number;
      /** Position of the first bad record in the log (1-based: the file's line, the table's order). */
      line: number;
      actionId?: string;
      problem: 'unreadable' | 'changed' | 'removed' | 'reordered' | 'truncated';
      message: string;
    };

/** A value, or a promise of it: the file answers at once, a remote store later; callers await either. */
export type Awaitable<T> = T | Promise<T>;

/**
 * An append-only, hash-chained audit log: the JSON Lines file of the local stack ({@link JsonlAuditLog}) or a
 * DynamoDB table for workers on many hosts ({@link DynamoDbAuditLog}). Callers must `await` every method.
 *
 * Contract for implementations: `append` must be idempotent by action, run, kind, plan and approver (a retry gets
 * the record back; a different second record of that key is refused with an error), must chain every record to
 * exactly one predecessor however many writers append at once, and must not lose a record it reported written.
 * Reads must see every record an `append` anywhere has reported written (a worker checks the record another wrote).
 */
export interface AuditStore {
  /** Where the records are, for messages to people: a file's path, a table's name. */
  readonly where: string;
  /**
   * Appends a record, unless the log has one of this key already: then returns that one if it says the same (a
   * retry), and throws if it says otherwise.
   */
  append(entry: AuditEntry): Promise<AuditRecordRef>;
  /** Whether the log holds a record of this action, run and kind (of any plan or approver). */
  has(actionId: string, runId: string, kind: AuditRecordKind): Awaitable<boolean>;
  /** The record of this action, run, kind, plan and approver (neither, for a final record), if there is one. */
  ref(
    actionId: string,
    runId: string,
    kind: AuditRecordKind,
    planHash?: string,
    approver?: string,
  ): Awaitable<AuditRecordRef | undefined>;
  /** The records of this action, run and kind (execution records: one per plan carried out), in log order. */
  find(actionId: string, runId: string, kind: AuditRecordKind): Awaitable<AuditRecord[]>;
  /** Every record, in log order (assumes an intact log; `verify` checks that). */
  read(): Awaitable<AuditRecord[]>;
  /** Checks the chain (and the checkpoint, if there is one); names the first record changed, removed or reordered. */
  verify(): Awaitable<VerifyResult>;
}

type KeyFields = Pick<AuditRecord, 'actionId' | 'runId' | 'kind' | 'planHash' | 'approver'>;

/**
 * Action, run, kind, plan and approver: the key appends are idempotent by. Records without an approver keep the key
 * they always had (the file's index is rebuilt from it).
 */
export function recordKey(r: KeyFields): string {
  return JSON.stringify([
    r.actionId,
    r.runId,
    r.kind ?? 'final',
    r.planHash ?? '',
    ...(r.approver === undefined ? [] : [r.approver]),
  ]);
}

/** Action, run and kind: what `has` asks about. */
export function runKey(r: Pick<AuditRecord, 'actionId' | 'runId' | 'kind'>): string {
  return JSON.stringify([r.actionId, r.runId, r.kind ?? 'final']);
}

/** What a store keeps of a record. */
export function refOf(r: AuditRecord): AuditRecordRef {
  const { seq, hash, kind, actionId, runId, planHash, approver, status, task } = r;
  return {
    seq,
    hash,
    kind: kind ?? 'final',
    actionId,
    runId,
    ...(planHash ? { planHash } : {}),
    ...(approver === undefined ? {} : { approver }),
    status,
    task,
  };
}

/** The error for a second, different record of a key the log holds: never written over, never written twice. */
export function secondRecordError(entry: AuditEntry, existing: AuditRecordRef): Error {
  return new Error(
    `The audit log already holds a ${entry.kind} record of action ${entry.actionId} (run ${entry.runId}) with status ${existing.status}; refusing a second one with ${entry.status}.`,
  );
}
