import { STSClient } from '@aws-sdk/client-sts';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { CedarPolicyEngine } from '../lib/cedar-policy-engine';
import type { AwsSettings } from '../lib/runtime-config';
import type { Identities } from '../lib/identities';
import type { CodecKeys } from '../lib/encryption-codec';
import { airlockDataConverter } from '../lib/data-converter';
import { JsonlAuditLog } from '../lib/audit-log';
import { createRunHistory } from '../lib/run-history';
import { Client } from '@temporalio/client';
import type { TaskRegistry } from '../tasks/task-registry';
import { createDefaultRegistry } from '../tasks';

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
  /** The append-only audit log (JSON Lines, hash-chained). */
  auditLogPath: string;
  taskQueue?: string;
  registry?: TaskRegistry;
  /** A prebuilt workflow bundle (tests build one and share it); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The worker's own AWS credentials (moto accepts any); in production the default provider chain. */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string };
  fetch?: typeof fetch;
  /** Extra worker options (e.g. for benchmarks). */
  tuning?: Partial<WorkerOptions>;
}

/**
 * The activities' dependencies, as a worker builds them: policies loaded and validated once, AWS clients with the
 * worker's identity, and a reader of actions' runs (decrypted) so the activities need not take their caller's word.
 */
export function createActivityDeps(opts: Omit<AirlockWorkerOptions, 'workflowBundle' | 'tuning' | 'taskQueue'>): ActivityDeps {
  const registry = opts.registry ?? createDefaultRegistry();
  const policy = CedarPolicyEngine.load(
    opts.policiesDir,
    registry.names(),
    [...opts.identities.people.values()].map((p) => ({ name: p.id, groups: p.groups })),
    [...opts.identities.agents.values()].map((a) => ({ name: a.id })),
  );
  const historyReader = new Client({ connection: opts.connection, namespace: opts.namespace, dataConverter: airlockDataConverter(opts.codecKeys) });
  return {
    sts: new STSClient({ region: opts.aws.region, endpoint: opts.aws.endpoint, credentials: opts.awsCredentials }),
    secrets: (credentials) => new SecretsManagerClient({ region: opts.aws.region, endpoint: opts.aws.endpoint, credentials }),
    http: opts.fetch ?? fetch,
    clock: () => new Date(),
    registry,
    policy,
    aws: opts.aws,
    endpoints: opts.endpoints,
    identities: opts.identities,
    auditLog: new JsonlAuditLog(opts.auditLogPath),
    runs: createRunHistory(historyReader),
  };
}

/** Builds an Airlock worker with its activities wired to their dependencies. */
export async function createAirlockWorker(opts: AirlockWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? AIRLOCK_TASK_QUEUE,
    activities: createActivities(createActivityDeps(opts)),
    // A payload this worker cannot decrypt becomes a marker every consumer refuses, never a failed workflow task.
    dataConverter: airlockDataConverter(opts.codecKeys, 'mark'),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    ...opts.tuning,
  });
}
