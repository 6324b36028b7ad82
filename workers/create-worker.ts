import { STSClient } from '@aws-sdk/client-sts';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { CedarPolicyEngine } from '../lib/cedar-policy-engine';
import type { AwsSettings } from '../lib/runtime-config';
import type { ApproverRegistry } from '../lib/approvers-config';
import type { CodecKeys } from '../lib/encryption-codec';
import { airlockDataConverter } from '../lib/data-converter';
import { JsonlAuditLog } from '../lib/audit-log';
import { auditTrail } from '../client/audit-trail';
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
  /** People who may sign decisions (the approvers file); their groups become Cedar group memberships. */
  approvers: ApproverRegistry;
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

/** Builds an Airlock worker: loads the policies once, wires the activities to their dependencies. */
export async function createAirlockWorker(opts: AirlockWorkerOptions): Promise<Worker> {
  const registry = opts.registry ?? createDefaultRegistry();
  const policy = CedarPolicyEngine.load(opts.policiesDir, registry.names(), [...opts.approvers.values()]);
  // The worker reads its own actions' histories (decrypted) to write their audit records.
  const historyReader = new Client({ connection: opts.connection, namespace: opts.namespace, dataConverter: airlockDataConverter(opts.codecKeys) });
  const sts = new STSClient({ region: opts.aws.region, endpoint: opts.aws.endpoint, credentials: opts.awsCredentials });
  const activities = createActivities({
    sts,
    secrets: (credentials) => new SecretsManagerClient({ region: opts.aws.region, endpoint: opts.aws.endpoint, credentials }),
    http: opts.fetch ?? fetch,
    clock: () => new Date(),
    registry,
    policy,
    aws: opts.aws,
    endpoints: opts.endpoints,
    approvers: opts.approvers,
    auditLog: new JsonlAuditLog(opts.auditLogPath),
    auditTrail: (id) => auditTrail(historyReader, id),
  });
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? AIRLOCK_TASK_QUEUE,
    activities,
    dataConverter: airlockDataConverter(opts.codecKeys),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    ...opts.tuning,
  });
}
