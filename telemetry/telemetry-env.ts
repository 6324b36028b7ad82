/**
 * Which signals the standard OpenTelemetry variables ask for: cheap to call (nothing of OpenTelemetry is loaded), so
 * that a process with telemetry off never loads it.
 */
export interface WantedSignals {
  traces: boolean;
  metrics: boolean;
}

/** Whether a signal's exporter is chosen: OTLP by `OTEL_<SIGNAL>_EXPORTER`, or implied by an OTLP endpoint. */
function exportsOtlp(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): boolean {
  const chosen = env[`OTEL_${signal}_EXPORTER`]?.trim().toLowerCase();
  if (chosen) return chosen.split(',').some((name) => name.trim() === 'otlp');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

/**
 * Traces and metrics by OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT /
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) is set or OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER say `otlp`; `none`
 * turns a signal off, OTEL_SDK_DISABLED=true both.
 */
export function wantedSignals(env: NodeJS.ProcessEnv = process.env): WantedSignals {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { traces: false, metrics: false };
  return { traces: exportsOtlp(env, 'TRACES'), metrics: exportsOtlp(env, 'METRICS') };
}

/**
 * `telemetryFromEnv` (telemetry.ts), loading OpenTelemetry's SDK only when the variables ask for a signal: a process
 * with telemetry off does not pay for loading it (about 50 ms).
 */
export function telemetryIfWanted(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): import('./telemetry').AirlockTelemetry | undefined {
  const wanted = wantedSignals(env);
  if (!wanted.traces && !wanted.metrics) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when wanted, as said above
  return (require('./telemetry') as typeof import('./telemetry')).telemetryFromEnv(serviceName, env);
}
