import type { Tracer } from '@opentelemetry/api';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import type { AirlockTelemetry } from './telemetry';
import { telemetryIfWanted, wantedSignals } from './telemetry-env';

/** The tracing interceptor, loaded with OpenTelemetry only for a client that traces (the CLI starts faster without). */
function tracingInterceptor(tracer: Tracer): WorkflowClientInterceptor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, as said above
  const { AirlockClientTracing } = require('./client-interceptor') as typeof import('./client-interceptor');
  return new AirlockClientTracing(tracer);
}

/**
 * `client`, with proposals and decisions traced when `telemetry` has traces on (the same connection, namespace and
 * data converter); else `client` itself.
 */
export function tracedClient(client: Client, telemetry: AirlockTelemetry | undefined): Client {
  const tracing = telemetry?.tracing;
  if (!tracing) return client;
  const { interceptors, ...options } = client.options;
  const existing = interceptors.workflow;
  // The legacy form ({ calls: [...] }) has no place for a second list: such a client is left untraced.
  if (existing !== undefined && !Array.isArray(existing)) return client;
  return new Client({
    ...options,
    connection: client.connection,
    interceptors: { ...interceptors, workflow: [tracingInterceptor(tracing.tracer), ...(existing ?? [])] },
  });
}

let fromEnv: AirlockTelemetry | null | undefined;

/**
 * The client process's telemetry, from the `OTEL_*` variables (see telemetryFromEnv), made once: none unless they ask
 * for it. A process that ends by `process.exit` should await {@link shutdownClientTelemetry} first, or its last spans
 * are lost.
 */
export function clientTelemetry(env: NodeJS.ProcessEnv = process.env): AirlockTelemetry | undefined {
  // Traces only: a client has no metrics of its own.
  if (fromEnv === undefined)
    fromEnv = wantedSignals(env).traces
      ? (telemetryIfWanted('airlock-client', { ...env, OTEL_METRICS_EXPORTER: 'none' }) ?? null)
      : null;
  return fromEnv ?? undefined;
}

/**
 * Exports the client's last spans and stops, waiting `maxMs` at most (a collector that does not answer must not hold up
 * a command's exit): for processes that end by `process.exit`.
 */
export async function shutdownClientTelemetry(maxMs = 2000): Promise<void> {
  if (!fromEnv) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    fromEnv.shutdown(),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs).unref())),
  ]).finally(() => clearTimeout(timer));
}
