import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { airlockDataConverter } from '../../crypto/data-converter';
import { parseCodecKeys } from '../../crypto/encryption-codec';
import { historyDecoder } from '../../audit/history-payloads';
import { TEST_ENV, testEnv } from './test-env';

/** What became of the one activity a rogue workflow scheduled, read from the rogue's own history. */
export interface ActivityOutcome {
  completed: boolean;
  /** The failure's type (in clear in history), e.g. `AIRLOCK_EVIDENCE`. */
  type?: string;
  nonRetryable?: boolean;
  /** The failure's message, decrypted with Airlock's keys (the attacker may not be able to). */
  message?: string;
  result?: unknown;
}

/** An attacker with access to the namespace: a client, and workers of their own. */
export interface Rogue {
  /** A client with no codec (plain payloads) or with Airlock's codec keys (as agent backends hold them). */
  client(encrypted: boolean): Client;
  /** Runs `rogueCall` on the attacker's own task queue and returns what became of the activity. */
  call(opts: {
    encrypted: boolean;
    taskQueue: string;
    activity: string;
    args: unknown[];
    workflowId?: string;
    reuseClosedId?: boolean;
  }): Promise<ActivityOutcome & { workflowId: string }>;
  /** Runs the workflow `forgeAudit` on the attacker's own (encrypted) queue under `workflowId`; what became of its `recordAudit`. */
  forgeAudit(taskQueue: string, workflowId: string, status: string, proposal: unknown): Promise<ActivityOutcome>;
  /** Runs `showsState` under `workflowId` (encrypted, as Airlock's are): it answers `getAction` with `state`. */
  showState(workflowId: string, state: unknown): Promise<{ stop(): Promise<void> }>;
  /** Starts the impostor `usageLedgerWorkflow` under `workflowId` on the attacker's own (encrypted) queue. */
  impostorLedger(workflowId: string): Promise<{ stop(): Promise<void> }>;
  /** Starts a worker with the impostor `actionWorkflow` (and no activities) on `taskQueue`. */
  impostor(taskQueue: string): Promise<{ stop(): Promise<void> }>;
  /** Starts a worker of the attacker's own activities (and no workflows) on `taskQueue`, with Airlock's codec. */
  activities(
    taskQueue: string,
    activities: Record<string, (...args: unknown[]) => Promise<unknown>>,
  ): Promise<{ stop(): Promise<void> }>;
  /** What became of the first activity of a workflow, or of the first of a type (waits for it). */
  outcome(workflowId: string, runId?: string, activityType?: string): Promise<ActivityOutcome>;
  close(): Promise<void>;
}

/** Sets up an attacker against the suite's Temporal server. */
export async function startRogue(): Promise<Rogue> {
  const address = testEnv('temporalAddress');
  const namespace = testEnv('namespace');
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const keys = parseCodecKeys(testEnv('codecKeys'), TEST_ENV.codecKeys);
  const plain = new Client({ connection, namespace });
  const encrypted = new Client({ connection, namespace, dataConverter: airlockDataConverter(keys) });
  const decode = historyDecoder(encrypted);
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../fixtures/rogue/rogue-workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  // The attacker's own "executeAction", on the attacker's own queue: it does nothing and says it executed.
  const fakeExecution = async () => ({
    kind: 'executed',
    result: {
      output: { noteId: 'N-fake' },
      credentials: {
        roleArn: 'arn:aws:iam::123456789012:role/airlock-demo-crm',
        sessionName: 'fake',
        sourceIdentity: 'alice',
        expiresAt: '',
        durationSeconds: 900,
        secretIds: [],
      },
      idempotencyKey: 'fake',
    },
  });
  const startWorker = async (
    taskQueue: string,
    withCodec: boolean,
    activities?: Record<string, () => Promise<unknown>>,
  ) => {
    const worker = await Worker.create({
      connection: native,
      namespace,
      taskQueue,
      workflowBundle: { code },
      ...(activities ? { activities } : {}),
      ...(withCodec ? { dataConverter: airlockDataConverter(keys) } : {}),
    });
    const entry = { worker, running: worker.run() };
    workers.push(entry);
    return entry;
  };
  const queues = { plain: `rogue-plain-${randomUUID()}`, encrypted: `rogue-enc-${randomUUID()}` };
  await startWorker(queues.plain, false);
  await startWorker(queues.encrypted, true, { executeAction: fakeExecution });

  const outcome = async (workflowId: string, runId?: string, activityType?: string): Promise<ActivityOutcome> => {
    for (let i = 0; i < 300; i++) {
      const events = (await plain.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
      const types = new Map<string, string>();
      for (const e of events) {
        if (e.activityTaskScheduledEventAttributes)
          types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
        const done =
          e.activityTaskCompletedEventAttributes ??
          e.activityTaskFailedEventAttributes ??
          e.activityTaskTimedOutEventAttributes;
        if (!done || (activityType && types.get(String(done.scheduledEventId)) !== activityType)) continue;
        if (e.activityTaskCompletedEventAttributes)
          return {
            completed: true,
            result: await decode(e.activityTaskCompletedEventAttributes.result?.payloads?.[0]),
          };
        const failure = e.activityTaskFailedEventAttributes?.failure ?? e.activityTaskTimedOutEventAttributes?.failure;
        if (failure) return { completed: false, ...(await describeFailure(failure)) };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no activity outcome in ${workflowId}`);
  };
  const describeFailure = async (f: temporal.api.failure.v1.IFailure) => {
    const attrs = f.encodedAttributes
      ? ((await decode(f.encodedAttributes)) as { message?: string } | undefined)
      : undefined;
    return {
      type: f.applicationFailureInfo?.type ?? undefined,
      nonRetryable: f.applicationFailureInfo?.nonRetryable ?? undefined,
      message: attrs?.message ?? f.message ?? undefined,
    };
  };

  return {
    client: (enc) => (enc ? encrypted : plain),
    outcome,
    async call({ encrypted: enc, taskQueue, activity, args, workflowId = `rogue-${randomUUID()}`, reuseClosedId }) {
      const handle = await (enc ? encrypted : plain).workflow.start('rogueCall', {
        taskQueue: enc ? queues.encrypted : queues.plain,
        workflowId,
        args: [taskQueue, activity, args],
        ...(reuseClosedId ? { workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const } : {}),
      });
      const result = await outcome(workflowId, handle.firstExecutionRunId);
      await handle.terminate('attack over').catch(() => undefined);
      return { ...result, workflowId };
    },
    async forgeAudit(taskQueue, workflowId, status, proposal) {
      const handle = await encrypted.workflow.start('forgeAudit', {
        taskQueue: queues.encrypted,
        workflowId,
        args: [proposal, taskQueue, status],
      });
      const result = await outcome(workflowId, handle.firstExecutionRunId, 'recordAudit');
      await handle.terminate('attack over').catch(() => undefined);
      return result;
    },
    async showState(workflowId, state) {
      const handle = await encrypted.workflow.start('showsState', {
        taskQueue: queues.encrypted,
        workflowId,
        args: [state],
      });
      return {
        stop: () =>
          handle.terminate('attack over').then(
            () => undefined,
            () => undefined,
          ),
      };
    },
    async impostorLedger(workflowId) {
      const handle = await encrypted.workflow.start('usageLedgerWorkflow', {
        taskQueue: queues.encrypted,
        workflowId,
        args: [],
      });
      return {
        stop: () =>
          handle.terminate('attack over').then(
            () => undefined,
            () => undefined,
          ),
      };
    },
    async impostor(taskQueue) {
      const entry = await startWorker(taskQueue, true);
      return {
        async stop() {
          entry.worker.shutdown();
          await entry.running;
        },
      };
    },
    async activities(taskQueue, activities) {
      const worker = await Worker.create({
        connection: native,
        namespace,
        taskQueue,
        activities,
        dataConverter: airlockDataConverter(keys),
      });
      const entry = { worker, running: worker.run() };
      workers.push(entry);
      return {
        async stop() {
          entry.worker.shutdown();
          await entry.running;
        },
      };
    },
    async close() {
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      await Promise.all(workers.map((w) => w.running));
      await native.close();
      await connection.close();
    },
  };
}
