/**
 * The Airlock worker process. Configured by its environment alone (see `config/runtime-config.ts` and the README):
 * Temporal by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* or a Temporal CLI profile, so
 * the same code runs against the local stack, a cluster or Temporal Cloud; AWS by the SDK's default credential chain.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectWorker } from '../config/temporal-connection';
import { workerConfigFromEnv } from '../config/runtime-config';
import { loadIdentities } from '../config/identities';
import { createAirlockWorker } from './create-worker';
import { openAuditStore } from '../audit/open-audit-store';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { telemetryIfWanted } from '../telemetry/telemetry-env';

async function main(): Promise<void> {
  const config = workerConfigFromEnv();
  const identities = loadIdentities({ approversFile: config.approversFile, agentsFile: config.agentsFile });
  const connection = await connectWorker(config.temporal);
  const { workflowBundlePath = builtBundle(), ...rest } = config;
  // Traces and metrics when the standard OTEL_* variables ask for them (OTEL_EXPORTER_OTLP_ENDPOINT); else none.
  const telemetry = telemetryIfWanted('airlock-worker');
  const worker = await createAirlockWorker({
    connection,
    namespace: config.temporal.namespace,
    identities,
    ...rest,
    auditStore: openAuditStore(config.audit, config.aws),
    ...(workflowBundlePath ? { workflowBundle: { codePath: workflowBundlePath } } : {}),
    ...(telemetry ? { telemetry } : {}),
  });
  console.log(
    `airlock worker: polling ${AIRLOCK_TASK_QUEUE} on ${config.temporal.address} (namespace ${config.temporal.namespace})${telemetry ? '; telemetry on (OTLP, as the OTEL_* variables say)' : ''}`,
  );
  await worker.run();
  await telemetry?.shutdown(); // the last spans and metrics, before the process goes
  await connection.close();
}

/**
 * The workflow bundle `npm run build` wrote beside the built worker (dist/workflow-bundle.js), if this is the built
 * worker: it starts from it instead of bundling the workflows for seconds. Run from the sources, there is none.
 */
function builtBundle(): string | undefined {
  const path = join(__dirname, '..', 'workflow-bundle.js');
  return existsSync(path) ? path : undefined;
}

main().catch((err: unknown) => {
  console.error(`airlock worker: ${(err as Error).message}`);
  process.exit(1);
});
