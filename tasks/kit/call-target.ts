import { TargetError } from '../../common/errors';

/** Why a target call failed, as far as retrying is concerned. */
export type FailureKind = 'status' | 'throttled' | 'network' | 'expired' | 'unknown';

/** What Airlock makes of an error a target call threw. */
export interface TargetFailure {
  kind: FailureKind;
  /** The HTTP status, when the target answered. */
  status?: number;
  /** Whether the same call may succeed if tried again. */
  retryable: boolean;
  /** When retryable and the target said when (`Retry-After`): how long to wait, capped at {@link MAX_RETRY_AFTER_MS}. */
  retryAfterMs?: number;
  message: string;
}

/**
 * The longest `Retry-After` honoured: a target (or whatever stands in its place) must not park an execution for
 * hours by asking; a longer wait is cut to this, and the activity's own retry limits still apply.
 */
export const MAX_RETRY_AFTER_MS = 60_000;

/** The shortest wait a `Retry-After` gives: the executions' own first retry interval. */
export const MIN_RETRY_AFTER_MS = 1000;

/**
 * A `Retry-After` value (seconds, or an HTTP date against `now`) in milliseconds, capped at
 * {@link MAX_RETRY_AFTER_MS}; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 64) return undefined;
  const text = value.trim();
  // Seconds, or an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"): nothing else Date.parse would take a guess at.
  const ms = /^\d+(\.\d+)?$/.test(text)
    ? Number(text) * 1000
    : /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)
      ? Date.parse(text) - now
      : NaN;
  if (!Number.isFinite(ms)) return undefined;
  // Never sooner than the activity's own first interval (1 s): a target that says "now" gets no tight loop.
  return Math.min(Math.max(MIN_RETRY_AFTER_MS, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}

/** The `Retry-After` header an error carries (fetch answers, the AWS SDK's `$response`, Stripe's `headers`). */
function retryAfterHeader(chain: ErrorLike[]): string | undefined {
  for (const c of chain) {
    for (const headers of [c.headers, c.$response?.headers, c.raw?.headers]) {
      if (!headers || typeof headers !== 'object') continue;
      const value =
        typeof (headers as Headers).get === 'function'
          ? (headers as Headers).get('retry-after')
          : (headers as Record<string, unknown>)['retry-after'];
      if (typeof value === 'string') return value;
    }
  }
  return undefined;
}

/** How a task tunes the one classification. */
export interface CallOptions {
  /**
   * Statuses beyond 408, 429 and 5xx that mean "try again": only where the target says so (Stripe answers 409 while
   * a request with the same idempotency key is still in flight).
   */
  retryableStatuses?: readonly number[];
  /** Errors the task handles itself (e.g. "not found" while planning): rethrown as they are, unclassified. */
  passThrough?: (err: unknown) => boolean;
}

// Names AWS, Stripe and HTTP clients give to "slow down".
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'StripeRateLimitError',
  'rate_limit_error',
]);
// The action's session ran out mid-activity: refused before anything was done, and the next attempt mints a new
// session. (`RequestExpired` is the worker's clock, which a new session does not mend: a refusal like any other.)
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired']);
// Errors of a call that never got an answer: the connection failed, was reset, or timed out.
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
// The worker's own credentials could not be fetched (instance metadata or container credentials timed out): weather.
const CREDENTIAL_NAMES = new Set(['CredentialsProviderError', 'ProviderError', 'TokenProviderError']);
const NETWORK_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  'NetworkingError',
  'StripeConnectionError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

type ErrorLike = {
  name?: string;
  code?: unknown;
  type?: string;
  message?: string;
  status?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  $response?: { headers?: unknown };
  headers?: unknown;
  raw?: { headers?: unknown };
  cause?: unknown;
};

const statusOf = (e: ErrorLike): number | undefined => {
  for (const s of [e.$metadata?.httpStatusCode, e.statusCode, e.status])
    if (typeof s === 'number' && s >= 100 && s < 600) return s;
  return undefined;
};

/** The chain of causes of an error (fetch hides the socket error in `cause`). */
function causes(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  for (
    let e = err as ErrorLike | undefined, i = 0;
    e && typeof e === 'object' && i < 5;
    e = e.cause as ErrorLike | undefined, i++
  )
    out.push(e);
  return out;
}

/**
 * The one rule for whether a failed target call may be retried, for every task: throttling (429 or a throttling
 * error name) and 408/5xx answers may pass; a call that never got an answer (reset, refused, timed out) may pass; any
 * other answer (4xx) will fail the same way again. So may a failure to fetch the worker's own credentials, or an error
 * the AWS SDK marks transient. An error with neither a status nor a known transient cause is a bug, not weather: it
 * is not retried.
 */
export function classifyTargetError(err: unknown, opts: CallOptions = {}): TargetFailure {
  const chain = causes(err);
  const e = chain[0] ?? {};
  const message = `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}`;
  const status = statusOf(e);
  const retryAfterMs = parseRetryAfter(retryAfterHeader(chain));
  const after = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (
    status === 429 ||
    chain.some(
      (c) =>
        THROTTLED.has(String(c.name)) ||
        THROTTLED.has(String(c.code)) ||
        THROTTLED.has(String(c.type)) ||
        c.$retryable?.throttling,
    )
  ) {
    return { kind: 'throttled', status, retryable: true, ...after, message };
  }
  if (chain.some((c) => EXPIRED.has(String(c.name)) || EXPIRED.has(String(c.code))))
    return { kind: 'expired', status, retryable: true, message };
  if (status !== undefined) {
    const retryable = status >= 500 || status === 408 || (opts.retryableStatuses ?? []).includes(status);
    return { kind: 'status', status, retryable, ...(retryable ? after : {}), message };
  }
  const network = chain.some(
    (c) =>
      NETWORK_CODES.has(String(c.code)) ||
      NETWORK_NAMES.has(String(c.name)) ||
      NETWORK_NAMES.has(String(c.type)) ||
      CREDENTIAL_NAMES.has(String(c.name)) ||
      c.$retryable !== undefined || // the AWS SDK marks transient errors it knows of
      (c.name === 'TypeError' && c.message === 'fetch failed'),
  );
  return network ? { kind: 'network', retryable: true, message } : { kind: 'unknown', retryable: false, message };
}

/**
 * Calls a target (`target` names it for people: "the demo CRM", "Stripe") and turns whatever it throws into a
 * {@link TargetError} that says which target, what call, and whether retrying may help (see {@link classifyTargetError}); a `TargetError` the call throws itself passes as is.
 * Every task calls its target through this.
 */
export async function callTarget<T>(
  target: string,
  what: string,
  fn: () => Promise<T>,
  opts: CallOptions = {},
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TargetError || opts.passThrough?.(err)) throw err;
    const f = classifyTargetError(err, opts);
    const who = target.charAt(0).toUpperCase() + target.slice(1);
    const message =
      f.kind === 'network'
        ? `${who} could not be reached for ${what} (${f.message}).`
        : f.kind === 'expired'
          ? `${who} refused ${what}: the action's session expired (${f.message}); the next attempt mints a new one.`
          : f.kind === 'throttled'
            ? `${who} throttled ${what}${f.status ? ` (HTTP ${f.status})` : ''}: ${f.message}`
            : f.kind === 'status'
              ? `${who} refused ${what}: HTTP ${f.status} ${f.message}`
              : `${what} on ${target} failed: ${f.message}`;
    const waiting =
      f.retryAfterMs === undefined
        ? ''
        : ` The target asked for ${Math.ceil(f.retryAfterMs / 1000)} s before the next try.`;
    throw new TargetError(`${message}${waiting}`, f.status, f.retryable, f.retryAfterMs);
  }
}

/** Whether an error is the one a task expects by name (e.g. `ParameterNotFound`), for `passThrough`. */
export const named =
  (...names: string[]) =>
  (err: unknown): boolean =>
    names.includes(String((err as ErrorLike)?.name));
