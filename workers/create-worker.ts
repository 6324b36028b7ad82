import { STSClient } from '@aws-sdk/client-sts';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../common/errors';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { loadPolicies } from '../policy/cedar-policy-engine';
import type { AwsSettings, NotificationSettings } from '../config/runtime-config';
import { SESClient } from '@aws-sdk/client-ses';
import type { Identities } from '../config/identities';
import type { CodecKeys } from '../crypto/encryption-codec';
import { airlockDataConverter } from '../crypto/data-converter';
import { JsonlAuditLog } from '../audit/audit-log';
import type { AuditStore } from '../audit/audit-store';
import { createRunHistory } from '../audit/run-history';
import { Client } from '@temporalio/client';
import type { TaskRegistry } from '../tasks/task-registry';
import { createDefaultRegistry } from '../tasks';
import { WORKFLOW_BUNDLE_OPTIONS } from './workflow-bundle';
import { temporalUsageLedger } from '../activities/usage-ledger';
import type { AirlockTelemetry } from '../telemetry/telemetry';
import { activityTelemetry, tracedTargetFetch } from '../telemetry/activity-telemetry';
import { activityTracing, workerSinks } from '../telemetry/worker-telemetry';

/** What a worker is built from. */
export interface AirlockWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  aws: AwsSettings;
  endpoints: Record<string, string>;
  policiesDir: string;
  /**
   * People who may sign decisions (the approvers file; their groups become Cedar group memberships) and agents who
   * may sign proposals (the agents file).
   */
  identities: Identities;
  /** Payload encryption keys: every payload and failure this worker writes to history is encrypted. */
  codecKeys: CodecKeys;
  /** The append-only audit log as a JSON Lines file (hash-chained), unless {@link auditStore} is given. */
  auditLogPath?: string;
  /** The audit store (a DynamoDB table for workers on several hosts; see `openAuditStore`). */
  auditStore?: AuditStore;
  taskQueue?: string;
  registry?: TaskRegistry;
  /** A prebuilt workflow bundle (tests build one and share it); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The worker's own AWS credentials (moto accepts any); in production the default provider chain. */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string };
  fetch?: typeof fetch;
  /** How long one target call may take before it is retried as a network failure (default 30 s). */
  targetTimeoutMs?: number;
  /**
   * How many workflows the worker keeps in memory (default {@link DEFAULT_MAX_CACHED_WORKFLOWS}). An action waits for
   * approval for days and needs no cache meanwhile: a workflow evicted is replayed from its history when a message
   * arrives.
   */
  maxCachedWorkflows?: number;
  /** The secret holding the workers' own key; `airlock/worker/evidence-key` by default. */
  workerKeySecret?: string;
  /** Extra worker options (e.g. for benchmarks). */
  tuning?: Partial<WorkerOptions>;
  /** Told how long each stage of an activity took (the benchmark's breakdown). */
  observe?: ActivityDeps['observe'];
  /** Where people are told that actions wait (none: nobody is told). */
  notifications?: NotificationSettings;
  /**
   * Traces and metrics (see telemetry/telemetry.ts; `telemetryFromEnv` reads the `OTEL_*` variables). None: no spans,
   * no metrics, and nothing spent on them.
   */
  telemetry?: AirlockTelemetry;
}

/**
 * The activities' dependencies, as a worker builds them: policies loaded and validated once, AWS clients with the
 * worker's identity, and a reader of actions' runs (decrypted) so the activities need not take their caller's word.
 */
export function createActivityDeps(opts: Omit<AirlockWorkerOptions, 'workflowBundle' | 'tuning'>): ActivityDeps {
  const registry = opts.registry ?? createDefaultRegistry();
  const http = opts.fetch ?? fetch;
  const policy = loadPolicies(opts.policiesDir, registry, opts.identities);
  const historyReader = new Client({
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: airlockDataConverter(opts.codecKeys),
  });
  return {
    sts: new STSClient({ region: opts.aws.region, endpoint: opts.aws.endpoint, credentials: opts.awsCredentials }),
    secrets: (credentials) =>
      new SecretsManagerClient({ region: opts.aws.region, endpoint: opts.aws.endpoint, credentials }),
    http: opts.telemetry ? tracedTargetFetch(http, opts.endpoints, opts.telemetry) : http,
    ...(opts.targetTimeoutMs ? { targetTimeoutMs: opts.targetTimeoutMs } : {}),
    clock: () => new Date(),
    registry,
    policy,
    aws: opts.aws,
    endpoints: opts.endpoints,
    identities: opts.identities,
    auditLog: opts.auditStore ?? auditFile(opts.auditLogPath),
    runs: createRunHistory(historyReader),
    // Ledgers run on the workers' own task queue; a ledger run anywhere else is not believed (see temporalUsageLedger).
    ledger: temporalUsageLedger(historyReader, opts.taskQueue ?? AIRLOCK_TASK_QUEUE),
    workerKey: once(() => readWorkerKey(opts)),
    ...(opts.observe ? { observe: opts.observe } : {}),
    ...(opts.telemetry ? { telemetry: activityTelemetry(opts.telemetry) } : {}),
    notifications: {
      webhookUrl: opts.notifications?.webhookUrl,
      inboxUrl: opts.notifications?.inboxUrl,
      // Notifications are the gate's own mail, sent with the worker's identity (never an action's session).
      ...(opts.notifications?.emailFrom
        ? {
            email: {
              from: opts.notifications.emailFrom,
              ses: new SESClient({
                region: opts.aws.region,
                endpoint: opts.aws.endpoint,
                credentials: opts.awsCredentials,
              }),
            },
          }
        : {}),
    },
  };
}

/** The JSON Lines audit log, when no other store was given: one of the two is required. */
function auditFile(path: string | undefined): AuditStore {
  if (!path) throw new ConfigError('The worker has no audit log: give it auditLogPath (a file) or auditStore.');
  return new JsonlAuditLog(path);
}

/** The secret that holds the workers' own key (HMAC of the marks attempts leave each other). */
export const DEFAULT_WORKER_KEY_SECRET = 'airlock/worker/evidence-key';

/** Reads the workers' key with the worker's own AWS identity (`AIRLOCK_WORKER_KEY_SECRET`, else the default secret). */
async function readWorkerKey(
  opts: Pick<AirlockWorkerOptions, 'aws' | 'awsCredentials' | 'workerKeySecret'>,
): Promise<Buffer> {
  const secretId = opts.workerKeySecret ?? DEFAULT_WORKER_KEY_SECRET;
  const client = new SecretsManagerClient({
    region: opts.aws.region,
    endpoint: opts.aws.endpoint,
    credentials: opts.awsCredentials,
  });
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString || SecretString.length < 32) throw new Error('it must hold at least 32 random characters');
    return Buffer.from(SecretString);
  } catch (err) {
    throw new ConfigError(
      `The worker cannot read its own key from secret ${secretId} (${(err as Error).message}). Create it (32+ random characters) and let the worker's identity read it.`,
    );
  } finally {
    client.destroy();
  }
}

/** A function that runs `fn` once, and again only if it failed. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= fn().catch((err: unknown) => {
      pending = undefined;
      throw err;
    }));
}

/**
 * Workflows a worker keeps cached by default. Each costs about 240 KB (measured with 1,500 waiting actions), and the
 * SDK's own default grows with the heap (thousands): 10,000 waiting actions held 2.4 GB. Cached, a workflow answers
 * its next message without replaying; evicted, it replays a short history (an action has tens of events). With 100,
 * 3,000 waiting held 248 MB RSS against 284 MB with 250, and 1,000 proposals from 50 clients ran as fast.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

/** How long a workflow task waits for the worker that has its workflow cached before another worker replays it. */
const STICKY_TIMEOUT = '3 seconds';

/** Builds an Airlock worker with its activities wired to their dependencies. */
export async function createAirlockWorker(opts: AirlockWorkerOptions): Promise<Worker> {
  const deps = createActivityDeps(opts);
  await deps.workerKey(); // a worker that cannot read its own key does not start
  const tracing = opts.telemetry?.tracing;
  const { interceptors: tuned, ...tuning } = opts.tuning ?? {};
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? AIRLOCK_TASK_QUEUE,
    activities: createActivities(deps),
    // A payload this worker cannot decrypt becomes a marker every consumer refuses, never a failed workflow task.
    dataConverter: airlockDataConverter(opts.codecKeys, 'mark'),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    // A workflow task for a workflow cached on a worker that died waits this long before any worker may take it
    // (default 10 s): after a crash, the action's next step would sit that long (see the fault suite's figures).
    stickyQueueScheduleToStartTimeout: STICKY_TIMEOUT,
    // Registered whether telemetry is on or not: the workflows report to them either way (to no-ops when off).
    sinks: workerSinks(opts.telemetry),
    ...tuning,
    interceptors: {
      ...tuned,
      // Temporal's activity span first (outermost), so that every other interceptor runs inside it.
      activity: [...(tracing ? [activityTracing(tracing)] : []), ...(tuned?.activity ?? [])],
      // When the workflows are bundled here; a prebuilt bundle has them already (see workflow-bundle.ts).
      ...(opts.workflowBundle
        ? {}
        : {
            workflowModules: [...WORKFLOW_BUNDLE_OPTIONS.workflowInterceptorModules, ...(tuned?.workflowModules ?? [])],
          }),
    },
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : {
          workflowsPath: WORKFLOW_BUNDLE_OPTIONS.workflowsPath,
          bundlerOptions: { preloadModules: WORKFLOW_BUNDLE_OPTIONS.preloadModules },
        }),
  });
}
