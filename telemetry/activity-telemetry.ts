import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { PolicyDecision } from '../common/types';
import { ATTR, SPAN } from './names';
import type { AirlockTelemetry } from './telemetry';

/**
 * What the activities report their stages to (`ActivityDeps.telemetry`): a span per stage inside a traced activity,
 * and the execution's latency.
 */
export interface ActivityTelemetry {
  /**
   * Runs `fn`, one stage of an activity (`verify`, `validate`, `policy`, `plan`, `execute`, ...), in a span of its own
   * when the activity is traced; `task` labels the execution's latency. Returns what `fn` returns, throws what it throws.
   */
  stage<T>(stage: string, fn: () => T, task?: string): T;
}

/** What a stage's result may say on its span: identifiers only (a plan or an input never). */
function resultAttributes(stage: string, result: unknown): Attributes {
  if (stage === 'policy' && result && typeof result === 'object' && 'policyIds' in result) {
    const policy = result as PolicyDecision;
    return {
      [ATTR.policyDecision]: policy.decision,
      [ATTR.policyIds]: [...policy.policyIds],
      [ATTR.approvalsRequired]: policy.approvalsRequired,
    };
  }
  return {};
}

/** The stages of Airlock's activities, as spans and the execution metric. */
export function activityTelemetry(telemetry: AirlockTelemetry): ActivityTelemetry {
  const tracer = telemetry.tracing?.tracer;
  return {
    stage<T>(stage: string, fn: () => T, task?: string): T {
      // Only inside a traced activity: an untraced action gets no spans of its own anywhere.
      const span: Span | undefined =
        tracer && trace.getActiveSpan()?.isRecording()
          ? tracer.startSpan(SPAN.stage(stage), { attributes: task ? { [ATTR.task]: task } : {} })
          : undefined;
      const measured = stage === 'execute' && task !== undefined;
      if (!span && !measured) return fn();
      const t0 = performance.now();
      const done = (ok: boolean, result?: unknown) => {
        if (measured) telemetry.metrics.executed(task, ok ? 'ok' : 'error', performance.now() - t0);
        if (!span) return;
        if (ok) span.setAttributes(resultAttributes(stage, result));
        else span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      };
      let out: T;
      try {
        out = span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
      } catch (err) {
        done(false);
        throw err;
      }
      if (out instanceof Promise)
        return out.then(
          (value: unknown) => {
            done(true, value);
            return value;
          },
          (err: unknown) => {
            done(false);
            throw err;
          },
        ) as T;
      done(true, out);
      return out;
    },
  };
}

/**
 * `http`, with each call a target span (`airlock.target_call`) inside a traced activity: the method, the target's
 * name and host, and the answer's status code. Never the path or query: they may hold the input.
 */
export function tracedTargetFetch(
  http: typeof fetch,
  endpoints: Record<string, string>,
  telemetry: AirlockTelemetry,
): typeof fetch {
  const tracer = telemetry.tracing?.tracer;
  if (!tracer) return http;
  return async (input, init) => {
    if (!trace.getActiveSpan()?.isRecording()) return http(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    // The endpoint whose origin and path this URL is under (`:4010` is not `:40100`, nor `/api` `/apix`).
    const target = Object.entries(endpoints).find(([, base]) => isUnder(url, base))?.[0];
    const span = tracer.startSpan(SPAN.targetCall, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'server.address': url.hostname,
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
        ...(target ? { [ATTR.target]: target } : {}),
      },
    });
    try {
      const res = await context.with(trace.setSpan(context.active(), span), () => http(input, init));
      span.setAttribute('http.response.status_code', res.status);
      if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return res;
    } catch (err) {
      span.setAttribute('error.type', err instanceof Error ? err.name : 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  };
}

/** Whether `url` is `base` or under it: the same origin, and a path that is base's or goes on from it after a `/`. */
function isUnder(url: URL, base: string): boolean {
  if (!URL.canParse(base)) return false;
  const b = new URL(base);
  const path = b.pathname.replace(/\/$/, '');
  return url.origin === b.origin && (url.pathname === path || url.pathname.startsWith(`${path}/`) || path === '');
}
