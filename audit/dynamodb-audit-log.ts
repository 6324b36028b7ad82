import { gunzipSync, gzipSync } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/common';
import type {
  AttributeValue,
  CancellationReason,
  DynamoDBClient,
  GetItemCommandInput,
  QueryCommandInput,
  TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { dynamoDbClient, dynamoDbSdk, type DynamoDbLocation } from './dynamodb-sdk';
import { canonicalJson } from '../common/canonical-json';
import { sha256Canonical } from '../crypto/sha256';
import {
  GENESIS_HASH,
  recordKey,
  refOf,
  runKey,
  secondRecordError,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditRecord,
  type AuditRecordKind,
  type AuditRecordRef,
  type AuditStore,
  type VerifyResult,
} from './audit-store';
import { ChainVerifier } from './chain-verifier';

/** How a DynamoDB audit log is reached: a client, or where to make one (with the worker's own identity). */
export interface DynamoDbAuditLogOptions {
  /** A client (the worker's own identity, or for `verify` a reader's); else one is made for {@link aws}. */
  client?: DynamoDBClient;
  aws?: DynamoDbLocation;
  /** The log's table: partition key `pk` (S), sort key `sk` (S). See `provision-audit-tables.ts`. */
  table: string;
  /** The checkpoint table: partition key `pk` (S); one item per log table, named by it. */
  checkpointTable: string;
  clock?: () => Date;
}

/** The item that says which record is newest: what every append is conditioned on. */
const HEAD_KEY = { pk: { S: 'head' }, sk: { S: 'head' } };
/** The partition every record is in, sorted by sequence number (zero-padded: sort keys are strings). */
const LOG_PK = 'log';
const seqKey = (seq: number) => String(seq).padStart(16, '0');
/** Records longer than this are stored gzipped (an item holds at most 400 KB). */
const GZIP_ABOVE = 300_000;
const MAX_ITEM_BYTES = 390_000;
/** Rounds of read-head-then-write before an append gives up (its activity is retried by Temporal). */
const MAX_ROUNDS = 60;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The audit log as a DynamoDB table, for workers on any number of hosts: the same records and hash chain as the JSON
 * Lines file ({@link JsonlAuditLog}), with no lock and no re-read of the log.
 *
 * Items: a head `{pk:'head', sk:'head', seq, hash}`; each record `{pk:'log', sk:<seq, 16 digits>, seq, record}` (its
 * canonical JSON, gzipped into `recordGz` when long); and per record a key item `{pk:'key#'+[action, run, kind],
 * sk:[action, run, kind, plan(, approver)], seq, ref}` that makes appends idempotent.
 *
 * An append reads the head and the key item, then writes head, record and key item in one `TransactWriteItems`,
 * conditioned on the head still being what it read and the key and the record not existing yet; the checkpoint item
 * of the second table is advanced in the same transaction (and must be behind the new record). A writer that lost
 * the race reads the head again and retries; one whose key was written meanwhile gets that record back. So the chain
 * has exactly one record per sequence number, each chained to the one before, whoever wrote it.
 */
export class DynamoDbAuditLog implements AuditStore {
  private client?: Promise<DynamoDBClient>;
  private readonly clock: () => Date;
  /** Appends of this process, one at a time: they would only race each other for the head. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: DynamoDbAuditLogOptions) {
    if (!opts.client && !opts.aws) throw new Error('A DynamoDB audit log needs a client or an AWS region.');
    this.clock = opts.clock ?? (() => new Date());
  }

  /** The client, made on first use (the SDK is loaded then). */
  private ddb(): Promise<DynamoDBClient> {
    return (this.client ??= this.opts.client
      ? Promise.resolve(this.opts.client)
      : dynamoDbClient(this.opts.aws as DynamoDbLocation));
  }

  private async get(input: GetItemCommandInput) {
    const { GetItemCommand } = await dynamoDbSdk();
    return (await this.ddb()).send(new GetItemCommand(input));
  }

  private async query(input: QueryCommandInput) {
    const { QueryCommand } = await dynamoDbSdk();
    return (await this.ddb()).send(new QueryCommand(input));
  }

  /** The table, for messages. */
  get where(): string {
    return `DynamoDB table ${this.opts.table}`;
  }

  /**
   * Appends a record, unless the table has one of this key already: then returns that one if it says the same (a
   * retry), and throws if it says otherwise.
   */
  append(entry: AuditEntry): Promise<AuditRecordRef> {
    const run = this.queue.then(() => this.appendNow(entry));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(entry: AuditEntry): Promise<AuditRecordRef> {
    const keyItem = keyOfEntry(entry);
    for (let round = 1; ; round++) {
      const [head, existing] = await Promise.all([this.head(), this.keyRef(keyItem)]);
      if (existing) {
        if (existing.status !== entry.status || existing.task !== entry.task) throw secondRecordError(entry, existing);
        return existing;
      }
      const body = { ...entry, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH };
      const record: AuditRecord = { ...body, hash: sha256Canonical(body) };
      const ref = refOf(record);
      const at = this.clock().toISOString();
      const items: TransactWriteItem[] = [
        {
          Put: {
            TableName: this.opts.table,
            Item: { ...HEAD_KEY, seq: num(record.seq), hash: { S: record.hash }, at: { S: at } },
            ...(head
              ? {
                  ConditionExpression: '#seq = :seq AND #hash = :hash',
                  ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' },
                  ExpressionAttributeValues: { ':seq': num(head.seq), ':hash': { S: head.hash } },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          },
        },
        {
          Put: {
            TableName: this.opts.table,
            Item: { pk: { S: LOG_PK }, sk: { S: seqKey(record.seq) }, seq: num(record.seq), ...stored(record) },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.opts.table,
            Item: { ...keyItem, seq: num(record.seq), ref: { S: JSON.stringify(ref) } },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.opts.checkpointTable,
            Item: { pk: { S: this.opts.table }, seq: num(record.seq), hash: { S: record.hash }, at: { S: at } },
            ConditionExpression: 'attribute_not_exists(pk) OR #seq < :seq',
            ExpressionAttributeNames: { '#seq': 'seq' },
            ExpressionAttributeValues: { ':seq': num(record.seq) },
          },
        },
      ];
      try {
        const { TransactWriteItemsCommand } = await dynamoDbSdk();
        await (await this.ddb()).send(new TransactWriteItemsCommand({ TransactItems: items }));
        return ref;
      } catch (err) {
        const reasons = cancellationReasons(err);
        if (!reasons) throw err;
        const failed = reasons.map((r) => r.Code === 'ConditionalCheckFailed');
        // The head was as read (so no other writer won), yet the record or the checkpoint is ahead of it: someone
        // removed the newest records, or set the head back. Writing on would hide it. (Unless the head has moved
        // since all the same: then it was a race after all, and the next round decides.)
        const alarm = !failed[0] && (failed[1] || failed[3]) && sameHead(head, await this.head());
        if (alarm && failed[3])
          throw new Error(
            `The audit checkpoint in ${this.opts.checkpointTable} is at or beyond record ${record.seq}, but the head of ${this.opts.table} says ${head?.seq ?? 0}: the newest records were removed or the head was set back. Nothing more is appended until it is restored: run \`airlock audit verify --table ${this.opts.table} --checkpoint-table ${this.opts.checkpointTable}\`.`,
          );
        if (alarm && failed[1])
          throw new Error(
            `${this.opts.table} already holds record ${record.seq}, but its head item says ${head?.seq ?? 0}: the head was changed. Nothing more is appended until it is repaired: run \`airlock audit verify --table ${this.opts.table} --checkpoint-table ${this.opts.checkpointTable}\`.`,
          );
        if (round >= MAX_ROUNDS)
          throw new Error(
            `Could not append to ${this.opts.table} after ${round} tries: other writers kept advancing its head (or DynamoDB kept refusing: ${reasons.map((r) => r.Code).join(', ')}). The activity is tried again.`,
          );
        // Lost the race for the head (or the transaction met another): read it again, after a jittered pause.
        await sleep(Math.random() * Math.min(200, 5 * 2 ** Math.min(round, 6)));
      }
    }
  }

  /** Whether the table holds a record of this action, run and kind (of any plan or approver). */
  async has(actionId: string, runId: string, kind: AuditRecordKind): Promise<boolean> {
    const out = await this.query({
      TableName: this.opts.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: keyPartition({ actionId, runId, kind }) } },
      ConsistentRead: true,
      Limit: 1,
      ProjectionExpression: 'pk',
    });
    return (out.Items?.length ?? 0) > 0;
  }

  /** The record of this action, run, kind, plan and approver, as its key item holds it (one read). */
  ref(
    actionId: string,
    runId: string,
    kind: AuditRecordKind,
    planHash?: string,
    approver?: string,
  ): Promise<AuditRecordRef | undefined> {
    return this.keyRef(keyOfEntry({ actionId, runId, kind, planHash, approver }));
  }

  /** The records of this action, run and kind, in log order. */
  async find(actionId: string, runId: string, kind: AuditRecordKind): Promise<AuditRecord[]> {
    const seqs: number[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.query({
        TableName: this.opts.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: keyPartition({ actionId, runId, kind }) } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      });
      for (const item of out.Items ?? []) seqs.push(Number(item.seq?.N));
      start = out.LastEvaluatedKey;
    } while (start);
    const records = await Promise.all(
      seqs
        .sort((a, b) => a - b)
        .map(async (seq) => {
          const out = await this.get({
            TableName: this.opts.table,
            Key: { pk: { S: LOG_PK }, sk: { S: seqKey(seq) } },
            ConsistentRead: true,
          });
          return out.Item ? (JSON.parse(textOf(out.Item)) as AuditRecord) : undefined;
        }),
    );
    return records.filter((r): r is AuditRecord => r !== undefined);
  }

  /** Every record, in sequence order (assumes an intact log; `verify` checks that). */
  async read(): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for await (const text of this.texts()) out.push(JSON.parse(text) as AuditRecord);
    return out;
  }

  /**
   * Checks the chain as the file's `verify` does, reading the table once in sequence order; then that the log reaches
   * its checkpoint (read first, so that appends meanwhile are no alarm) and its own head item, and goes no further
   * than the checkpoint read after it (every append advances both in one transaction).
   */
  async verify(): Promise<VerifyResult> {
    const checkpoint = await this.checkpoint();
    const verifier = new ChainVerifier(checkpoint);
    for await (const text of this.texts()) verifier.push(text);
    const head = await this.head();
    // Read again: every record an append wrote meanwhile is within it, so one beyond it was put there otherwise.
    const after = await this.checkpoint();
    return verifier.finish(head ? { seq: head.seq, where: `the table's head item` } : undefined, { checkpoint: after });
  }

  /** The checkpoint of this log, if any append wrote one. */
  async checkpoint(): Promise<AuditCheckpoint | undefined> {
    const out = await this.get({
      TableName: this.opts.checkpointTable,
      Key: { pk: { S: this.opts.table } },
      ConsistentRead: true,
    });
    const item = out.Item;
    if (!item) return undefined;
    return { seq: Number(item.seq?.N), hash: String(item.hash?.S), at: String(item.at?.S) };
  }

  /** The records' stored text, in sequence order (a record that is no text yields "" and fails `verify`). */
  private async *texts(): AsyncGenerator<string> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.query({
        TableName: this.opts.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: LOG_PK } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      });
      for (const item of out.Items ?? []) yield textOf(item);
      start = out.LastEvaluatedKey;
    } while (start);
  }

  private async head(): Promise<{ seq: number; hash: string } | undefined> {
    const out = await this.get({ TableName: this.opts.table, Key: HEAD_KEY, ConsistentRead: true });
    return out.Item ? { seq: Number(out.Item.seq?.N), hash: String(out.Item.hash?.S) } : undefined;
  }

  private async keyRef(key: Record<string, AttributeValue>): Promise<AuditRecordRef | undefined> {
    const out = await this.get({ TableName: this.opts.table, Key: key, ConsistentRead: true });
    return out.Item?.ref?.S ? (JSON.parse(out.Item.ref.S) as AuditRecordRef) : undefined;
  }
}

const sameHead = (a?: { seq: number; hash: string }, b?: { seq: number; hash: string }) =>
  a?.seq === b?.seq && a?.hash === b?.hash;

/** The partition of the key items of one action, run and kind (so `has` is one query). */
function keyPartition(r: Pick<AuditRecord, 'actionId' | 'runId' | 'kind'>): string {
  return `key#${runKey(r)}`;
}

function keyOfEntry(
  r: Pick<AuditRecord, 'actionId' | 'runId' | 'kind' | 'planHash' | 'approver'>,
): Record<string, AttributeValue> {
  return { pk: { S: keyPartition(r) }, sk: { S: recordKey(r) } };
}

const num = (n: number): AttributeValue => ({ N: String(n) });

/** A record as an item holds it: its canonical JSON, exactly what was hashed, gzipped when long. */
function stored(record: AuditRecord): Record<string, AttributeValue> {
  const text = canonicalJson(record);
  if (Buffer.byteLength(text) <= GZIP_ABOVE) return { record: { S: text } };
  const gz = gzipSync(text);
  // No retry makes it smaller: the run records the failure (auditError) and ends, instead of retrying forever.
  if (gz.length > MAX_ITEM_BYTES)
    throw ApplicationFailure.nonRetryable(
      `The audit record of action ${record.actionId} is ${gz.length} bytes even compressed, more than a DynamoDB item holds (400 KB); it cannot be stored. Use the file audit log for actions this large, or report it.`,
      'AIRLOCK_AUDIT_RECORD_TOO_LARGE',
    );
  return { recordGz: { B: gz } };
}

function textOf(item: Record<string, AttributeValue>): string {
  if (item.record?.S !== undefined) return item.record.S;
  if (item.recordGz?.B) {
    try {
      return gunzipSync(item.recordGz.B).toString('utf8');
    } catch {
      return '';
    }
  }
  return '';
}

/** The reasons a transaction was cancelled, one per item in order; undefined for any other error. */
function cancellationReasons(err: unknown): CancellationReason[] | undefined {
  const e = err as { name?: string; CancellationReasons?: CancellationReason[] };
  if (e?.name !== 'TransactionCanceledException') return undefined;
  return e.CancellationReasons ?? [];
}
