import { context, createNoopMeter, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResourcesSync, envDetectorSync, Resource, type IResource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { AirlockMetrics } from './metrics';
import { scrubbedExporter } from './scrubbed-exporter';
import { wantedSignals } from './telemetry-env';

/** Traces of one process: where its spans and its workflows' spans go. */
export interface AirlockTracing {
  readonly tracer: Tracer;
  /** Where spans are handed when they end (workflow spans too, through the worker's sink). */
  readonly spanProcessor: SpanProcessor;
  readonly resource: IResource;
}

/**
 * A process's telemetry: traces (when on) and Airlock's metrics (no-ops when off). Made by {@link startTelemetry}
 * or, from the standard `OTEL_*` variables, by {@link telemetryFromEnv}.
 */
export interface AirlockTelemetry {
  readonly tracing?: AirlockTracing;
  readonly metrics: AirlockMetrics;
  /** Exports everything recorded so far (spans waiting in a batch, metrics since the last export). */
  flush(): Promise<void>;
  /** Flushes, then stops exporting. */
  shutdown(): Promise<void>;
}

/** What {@link startTelemetry} is given. */
export interface TelemetryOptions {
  /** `service.name` of the process, unless OTEL_SERVICE_NAME says otherwise. */
  serviceName: string;
  /** Where spans go; none: no traces. */
  spanExporter?: SpanExporter;
  /** Exports each span as it ends (tests), instead of in batches every few seconds. */
  exportEachSpan?: boolean;
  /** What reads the metrics; none: metrics are no-ops. */
  metricReader?: MetricReader;
}

let contextInstalled = false;

/**
 * The process-wide parts OpenTelemetry keeps global: the async context (a span stays current across awaits) and the
 * W3C trace context propagator (what Temporal's interceptors put in headers). Installed once; a process that installed
 * its own keeps them.
 */
function installContext(): void {
  if (contextInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  contextInstalled = true;
}

/** Waits for `work`, whatever its outcome. */
const quietly = (work: Promise<void> | undefined) => work?.catch(() => undefined);

/**
 * Starts telemetry with the exporters given. The tracer is this process's own (not registered globally), so that
 * several can live in one process (tests) and an application embedding the client keeps its own.
 */
export function startTelemetry(opts: TelemetryOptions): AirlockTelemetry {
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': opts.serviceName }))
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  let tracing: AirlockTracing | undefined;
  let provider: BasicTracerProvider | undefined;
  if (opts.spanExporter) {
    installContext();
    const exporter = scrubbedExporter(opts.spanExporter);
    const spanProcessor = opts.exportEachSpan ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
    tracing = { tracer: provider.getTracer('airlock'), spanProcessor, resource };
  }
  const meterProvider = opts.metricReader ? new MeterProvider({ resource, readers: [opts.metricReader] }) : undefined;
  const metrics = new AirlockMetrics(meterProvider?.getMeter('airlock') ?? createNoopMeter());
  return {
    tracing,
    metrics,
    // A collector that does not answer loses what was sent to it; flushing and stopping never fail for it.
    async flush() {
      await Promise.all([provider?.forceFlush(), meterProvider?.forceFlush()].map(quietly));
    },
    async shutdown() {
      await Promise.all([provider?.shutdown(), meterProvider?.shutdown()].map(quietly));
    },
  };
}

/** A URL-encoded header part, or the part as written when it is not valid encoding. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Where a signal goes and with which headers, from `env` (the exporters would read only `process.env`): the
 * signal's own endpoint as given, else the general one with `/v1/<signal>` appended, as the specification says.
 */
function otlpTarget(
  env: NodeJS.ProcessEnv,
  signal: 'TRACES' | 'METRICS',
): { url?: string; headers?: Record<string, string> } {
  const own = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`];
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = own || (general ? `${general.replace(/\/+$/, '')}/v1/${signal.toLowerCase()}` : undefined);
  const headers = Object.fromEntries(
    [env.OTEL_EXPORTER_OTLP_HEADERS, env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`]]
      .flatMap((list) => (list ? list.split(',') : []))
      .map((pair) => pair.split('='))
      .filter((kv) => kv.length >= 2 && kv[0].trim())
      .map(([key, ...value]) => [decoded(key.trim()), decoded(value.join('=').trim())]),
  );
  return { ...(url ? { url } : {}), ...(Object.keys(headers).length ? { headers } : {}) };
}

/**
 * Telemetry as the standard OpenTelemetry variables ask (see {@link wantedSignals}: OTLP over HTTP), or none (off,
 * at no cost) when they ask for nothing. The endpoints, headers and OTEL_METRIC_EXPORT_INTERVAL are read from `env`;
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and the exporters' timeouts the SDK reads from the
 * process's own environment (so a caller passing another `env`, as the local stack does for its inbox, gets the
 * process's). A collector that does not answer loses the data, never an action.
 */
export function telemetryFromEnv(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): AirlockTelemetry | undefined {
  const { traces, metrics } = wantedSignals(env);
  if (!traces && !metrics) return undefined;
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
  return startTelemetry({
    serviceName,
    ...(traces ? { spanExporter: new OTLPTraceExporter(otlpTarget(env, 'TRACES')) } : {}),
    ...(metrics
      ? {
          metricReader: new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter(otlpTarget(env, 'METRICS')),
            ...(Number.isFinite(interval) && interval > 0 ? { exportIntervalMillis: interval } : {}),
          }),
        }
      : {}),
  });
}
