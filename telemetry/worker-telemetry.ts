import { createTraceState, trace, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryActivityInboundInterceptor } from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { SerializableSpan } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { ATTR } from './names';
import type { AirlockSinks } from './sinks';
import type { AirlockTelemetry, AirlockTracing } from './telemetry';
import { carriesTrace } from './trace-context';

/** The sinks a worker registers for its workflows' telemetry, Temporal's span `exporter` included. */
export type WorkerSinks = InjectedSinks<AirlockSinks & { exporter: { export(spans: SerializableSpan[]): void } }>;

/**
 * A workflow's span, as the sandbox serialized it, made a span of this process again. Unlike Temporal's own sink,
 * nothing of the workflow's info is added to it: that info holds the memo (the plan's summary) and search attributes.
 */
function readableSpan(serialized: SerializableSpan, tracing: AirlockTracing): ReadableSpan {
  const { spanContext, ...rest } = serialized;
  const context: SpanContext = {
    ...spanContext,
    traceState: spanContext.traceState ? createTraceState(spanContext.traceState) : undefined,
  };
  return { ...rest, spanContext: () => context, resource: tracing.resource };
}

/**
 * The sinks of a worker: the workflows' spans to this process's span processor, their metrics to its meters; both
 * registered even when telemetry is off (a traced proposal's workflow then reports to no-ops, not to a missing sink).
 */
export function workerSinks(telemetry: AirlockTelemetry | undefined): WorkerSinks {
  const tracing = telemetry?.tracing;
  return {
    exporter: {
      export: {
        fn: (_info, spans) => {
          if (tracing) for (const span of spans) tracing.spanProcessor.onEnd(readableSpan(span, tracing));
        },
      },
    },
    airlockMetrics: {
      finished: { fn: (_info, action) => telemetry?.metrics.finished(action) },
      refused: { fn: (_info, decision) => telemetry?.metrics.refused(decision) },
    },
  };
}

/**
 * Temporal's activity span (`RunActivity:<name>`, child of the workflow's `StartActivity` span), for activities of
 * traced actions only: one scheduled by an untraced action, or by a stranger without a trace, starts no trace.
 */
export function activityTracing(tracing: AirlockTracing): ActivityInterceptorsFactory {
  return (ctx) => {
    const traced = new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer });
    return {
      inbound: {
        execute: (input, next) =>
          carriesTrace(input.headers)
            ? traced.execute(input, (i) => {
                const workflowId = ctx.info.workflowExecution?.workflowId;
                if (workflowId) trace.getActiveSpan()?.setAttribute(ATTR.actionId, workflowId);
                return next(i);
              })
            : next(input),
      },
    };
  };
}
