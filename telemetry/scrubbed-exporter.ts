import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Exception event attributes kept: the error's type says what failed; its message may quote an input or a target. */
const KEPT_EVENT_ATTRIBUTES = new Set(['exception.type']);

/**
 * A span as it may leave the process: status and exception events without their messages (Temporal's interceptors
 * record every failure's message and stack, and an activity's message can quote the input or a target's answer).
 */
export function scrubSpan(span: ReadableSpan): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanId: span.parentSpanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status: { code: span.status.code },
    attributes: span.attributes,
    links: span.links,
    events: span.events.map((event) => ({
      ...event,
      attributes: Object.fromEntries(
        Object.entries(event.attributes ?? {}).filter(([key]) => KEPT_EVENT_ATTRIBUTES.has(key)),
      ),
    })),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationLibrary: span.instrumentationLibrary,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** `exporter`, given every span scrubbed first (see {@link scrubSpan}). */
export function scrubbedExporter(exporter: SpanExporter): SpanExporter {
  return {
    export: (spans, done) => exporter.export(spans.map(scrubSpan), done),
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => (exporter.forceFlush as () => Promise<void>)() } : {}),
  };
}
