import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { TRACE_HEADER } from './names';

/**
 * Whether Temporal headers carry a W3C trace context (a `traceparent`) from a traced caller. Workflow-safe.
 *
 * An action is traced when its proposal was: the proposing client's interceptor puts the trace context in the start
 * headers, history keeps them, and every replay of the run decides the same.
 */
export function carriesTrace(headers: Headers | undefined): boolean {
  const payload = headers?.[TRACE_HEADER];
  if (!payload) return false;
  try {
    const carrier = defaultPayloadConverter.fromPayload<unknown>(payload);
    return (
      typeof carrier === 'object' &&
      carrier !== null &&
      typeof (carrier as { traceparent?: unknown }).traceparent === 'string'
    );
  } catch {
    return false; // not ours to judge: an unreadable header only means no trace
  }
}
