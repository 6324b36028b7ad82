import { TargetError } from '../../common/errors';
import type { TaskContext } from '../define-task';
import { callTarget, type CallOptions } from './call-target';

/** An HTTP answer that is not 2xx, as an error `callTarget` classifies by its status. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    body: string,
    /** The answer's headers: `Retry-After` says when to try again. */
    readonly headers: Headers,
  ) {
    super(body.slice(0, 500));
  }
}

/** One JSON request to an HTTP target. */
export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Sends one JSON request to the target named `endpoint` in the worker's configuration
 * (`AIRLOCK_ENDPOINT_<NAME>`), through `ctx.fetch`. Writes carry the action id as `Idempotency-Key`, so a retried
 * activity never writes twice. Failures are classified by {@link callTarget}.
 */
export async function requestJson<T>(
  ctx: TaskContext,
  endpoint: string,
  req: JsonRequest,
  opts: CallOptions & { label?: string } = {},
): Promise<T> {
  const base = ctx.endpoints[endpoint];
  if (!base) {
    const variable = `AIRLOCK_ENDPOINT_${endpoint.toUpperCase().replace(/-/g, '_')}`;
    throw new TargetError(
      `The ${opts.label ?? endpoint} endpoint is not configured: set ${variable} on the worker.`,
      undefined,
      false,
    );
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', ...req.headers };
  if (req.method !== 'GET') headers['idempotency-key'] = ctx.actionId;
  return callTarget(
    opts.label ?? endpoint,
    `${req.method} ${req.path}`,
    async () => {
      const res = await ctx.fetch(`${base}${req.path}`, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
      });
      const text = await res.text();
      if (!res.ok) throw new HttpStatusError(res.status, text, res.headers);
      return JSON.parse(text) as T;
    },
    opts,
  );
}
