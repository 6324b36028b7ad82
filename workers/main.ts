/**
 * The Airlock worker process. Connects to Temporal by environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_*, or a Temporal CLI profile), so the same code runs against the local stack,
 * a cluster or Temporal Cloud.
 */
import { connectWorker, temporalTargetFromEnv } from '../config/temporal-connection';
import { agentsFileFromEnv, approversFileFromEnv, auditLogPathFromEnv, awsSettingsFromEnv, endpointsFromEnv, policiesDirFromEnv } from '../config/runtime-config';
import { loadIdentities } from '../config/identities';
import { requireCodecKeys } from '../crypto/data-converter';
import { createAirlockWorker } from './create-worker';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';

async function main(): Promise<void> {
  const target = temporalTargetFromEnv();
  const aws = awsSettingsFromEnv();
  const connection = await connectWorker(target);
  const worker = await createAirlockWorker({
    connection,
    namespace: target.namespace,
    aws,
    endpoints: endpointsFromEnv(),
    policiesDir: policiesDirFromEnv(),
    identities: loadIdentities({ approversFile: approversFileFromEnv(), agentsFile: agentsFileFromEnv() }),
    codecKeys: requireCodecKeys(),
    auditLogPath: auditLogPathFromEnv(),
    workerKeySecret: process.env.AIRLOCK_WORKER_KEY_SECRET || undefined,
    // Against moto any key pair works; against AWS the SDK's default provider chain applies.
    awsCredentials: aws.endpoint && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'airlock-worker', secretAccessKey: 'airlock-worker' } : undefined,
  });
  console.log(`airlock worker: polling ${AIRLOCK_TASK_QUEUE} on ${target.address} (namespace ${target.namespace})`);
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(`airlock worker: ${(err as Error).message}`);
  process.exit(1);
});
