import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../common/errors';
import { startChildService, type ChildService } from './child-service';
import { REPO_ROOT } from './dev-config';
import { freePort } from './free-port';

/** A running Jaeger: OTLP in, traces kept in memory, its query API (and the stack's trace page) out. */
export interface Jaeger extends ChildService {
  /** Where OTLP over HTTP goes: the value of OTEL_EXPORTER_OTLP_ENDPOINT for the processes it traces. */
  otlpEndpoint: string;
}

/**
 * Path of Jaeger: AIRLOCK_JAEGER, else the one `AIRLOCK_TRACES=1 node scripts/bootstrap.js` built from the Go module
 * proxy into .tools/bin.
 */
export function jaegerPath(): string {
  const fromEnv = process.env.AIRLOCK_JAEGER;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ConfigError(`AIRLOCK_JAEGER points at ${fromEnv}, which does not exist.`);
    return fromEnv;
  }
  const built = join(REPO_ROOT, '.tools', 'bin', 'jaeger');
  if (existsSync(built)) return built;
  throw new ConfigError(
    `Jaeger is not installed in ${join(REPO_ROOT, '.tools', 'bin')}. Run \`AIRLOCK_TRACES=1 node scripts/bootstrap.js\` ` +
      '(`AIRLOCK_TRACES=1 npm start` does; the build takes several minutes), or set AIRLOCK_JAEGER.',
  );
}

/**
 * The page Jaeger's query server shows instead of its own UI, which a build from the Go module proxy does not carry
 * (the UI is a separate JavaScript project): the recent actions and one action's trace as a waterfall.
 */
export const TRACE_PAGE_DIR = join(REPO_ROOT, 'stack', 'jaeger-ui');

/**
 * Jaeger v2's configuration: the OTLP/HTTP receiver and the query server on 127.0.0.1 only, traces in memory (gone at
 * stop), and none of its other receivers, extensions or its own telemetry ports.
 */
function jaegerConfig(ports: { otlp: number; query: number; queryGrpc: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 10000
  jaeger_query:
    # Jaeger traces its own queries by default (to a collector on 4317 that is not there).
    enable_tracing: false
    storage:
      traces: memory_store
    ui:
      assets_path: ${JSON.stringify(TRACE_PAGE_DIR)}
    http:
      endpoint: 127.0.0.1:${ports.query}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
`;
}

/** Starts Jaeger with its query server (and trace page) on `port` and OTLP/HTTP on `otlpPort`; waits until it answers. */
export async function startJaeger(
  port: number,
  otlpPort: number,
  opts: { log?: (line: string) => void } = {},
): Promise<Jaeger> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-jaeger-'));
  const config = join(dir, 'jaeger.yaml');
  writeFileSync(config, jaegerConfig({ otlp: otlpPort, query: port, queryGrpc: await freePort() }));
  const url = `http://127.0.0.1:${port}`;
  const service = await startChildService({
    name: 'jaeger',
    command: jaegerPath(),
    args: ['--config', `file:${config}`],
    url,
    ready: async () => (await fetch(`${url}/api/services`)).ok,
    ...(opts.log ? { log: opts.log } : {}),
  });
  return { ...service, otlpEndpoint: `http://127.0.0.1:${otlpPort}` };
}
