import { startInterceptingProxy, type Interception } from './intercepting-proxy';

/** A request that passed through the proxy. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The status the client got back. */
  status: number;
  /** `METHOD path X-Amz-Target Action`, as faults are matched. */
  operation: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** How an injected failure answers, beyond its status. */
export interface FaultAnswer {
  /** Extra headers (e.g. `Retry-After`). */
  headers?: Record<string, string>;
  /** The AWS error code (default by status: ThrottlingException for 429, ServiceUnavailable for 5xx). */
  type?: string;
}

/** A running fault proxy. */
export interface FaultProxy {
  url: string;
  /** Every request, in order, with the status returned. */
  requests: RecordedRequest[];
  /**
   * Fails the next `times` requests whose `METHOD path X-Amz-Target Action` line matches, with `status` (and
   * `headers`, e.g. `Retry-After`).
   */
  failNext(match: RegExp, status: number, times: number, answer?: FaultAnswer): void;
  /** Cuts the connection of the next `times` matching requests without an answer (a reset; the target never sees them). */
  resetNext(match: RegExp, times: number): void;
  /** Forwards the next `times` matching requests at once but holds the target's answer for `ms` (a slow target). */
  slowNext(match: RegExp, ms: number, times: number): void;
  /**
   * Holds the next matching request, `before` it reaches the target or `after` the target answered (its answer held),
   * until released: `reached` resolves when it is held. Released, a request held before is cut (it never reaches the
   * target), one held after gets its answer (to a caller that may be gone).
   */
  hold(match: RegExp, at: 'before' | 'after'): { reached: Promise<RecordedRequest>; release(): void };
  /**
   * Changes the JSON answers to requests whose line matches (stripe-mock keeps no state and answers every charge as
   * one of 1.00: a test seeds the charges it needs by their answers).
   */
  patchAnswers(match: RegExp, patch: (answer: Record<string, unknown>) => Record<string, unknown>): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a target (moto, stripe-mock) that records what it forwards and can make chosen AWS operations fail, to see a target error and a retry on an
 * AWS target the way they happen in production: the request reaches the wire and an error comes back.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const faults: ({ match: RegExp; status: number; times: number } & FaultAnswer)[] = [];
  const resets: { match: RegExp; times: number }[] = [];
  const slow: { match: RegExp; ms: number; times: number }[] = [];
  const holds: {
    match: RegExp;
    at: 'before' | 'after';
    reached: (r: RecordedRequest) => void;
    released: Promise<void>;
  }[] = [];
  const take = <T extends { match: RegExp }>(list: T[], operation: string, when: (t: T) => boolean = () => true) => {
    const i = list.findIndex((t) => when(t) && t.match.test(operation));
    return i < 0 ? undefined : list[i];
  };
  const requests: RecordedRequest[] = [];
  const patches: { match: RegExp; patch: (answer: Record<string, unknown>) => Record<string, unknown> }[] = [];
  const proxy = await startInterceptingProxy(target, async (req): Promise<Interception> => {
    const recorded: RecordedRequest = {
      method: req.method,
      path: req.path,
      headers: req.headers,
      body: req.body.toString('utf8'),
      status: 0,
      operation: req.operation,
      at: Date.now(),
    };
    requests.push(recorded);
    const hold = take(holds, req.operation);
    if (hold) holds.splice(holds.indexOf(hold), 1);
    if (hold?.at === 'before') {
      hold.reached(recorded);
      await hold.released;
      return { reset: true };
    }
    const reset = take(resets, req.operation, (r) => r.times > 0);
    if (reset) {
      reset.times -= 1;
      return { reset: true };
    }
    const slowly = take(slow, req.operation, (d) => d.times > 0);
    if (slowly) slowly.times -= 1;
    const fault = take(faults, req.operation, (f) => f.times > 0);
    const patch = patches.find((p) => p.match.test(req.operation));
    if (!fault)
      return {
        forwarded: async (status, body) => {
          recorded.status = status;
          if (hold) {
            hold.reached(recorded);
            await hold.released;
          }
          if (slowly) await new Promise((r) => setTimeout(r, slowly.ms));
          if (patch && status === 200)
            return Buffer.from(
              JSON.stringify(patch.patch(JSON.parse(body.toString('utf8')) as Record<string, unknown>)),
            );
        },
      };
    fault.times -= 1;
    recorded.status = fault.status;
    const message = `injected fault for ${req.operation.trim()}`;
    const code =
      fault.type ??
      (fault.status === 429
        ? 'ThrottlingException'
        : fault.status >= 500
          ? 'ServiceUnavailable'
          : 'ValidationException');
    // AWS query protocols (STS, SES: an Action= form) answer errors in XML; the JSON ones, and Stripe, in JSON.
    if (/ \w+$/.test(req.operation) && new URLSearchParams(req.body.toString('utf8')).has('Action'))
      return {
        answer: {
          status: fault.status,
          contentType: 'text/xml',
          headers: fault.headers,
          body: `<ErrorResponse><Error><Type>${fault.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>`,
        },
      };
    return {
      answer: {
        status: fault.status,
        contentType: 'application/x-amz-json-1.1',
        ...(fault.headers ? { headers: fault.headers } : {}),
        body: JSON.stringify({
          __type: code,
          message,
          error: {
            type:
              fault.status === 429 ? 'rate_limit_error' : fault.status >= 500 ? 'api_error' : 'invalid_request_error',
            message,
          },
        }),
      },
    };
  });
  return {
    url: proxy.url,
    requests,
    failNext: (match, status, times, answer = {}) => faults.push({ match, status, times, ...answer }),
    resetNext: (match, times) => resets.push({ match, times }),
    slowNext: (match, ms, times) => slow.push({ match, ms, times }),
    hold(match, at) {
      let reached!: (r: RecordedRequest) => void;
      let release!: () => void;
      const held = new Promise<RecordedRequest>((r) => (reached = r));
      const released = new Promise<void>((r) => (release = r));
      holds.push({ match, at, reached, released });
      return { reached: held, release };
    },
    patchAnswers: (match, patch) => patches.push({ match, patch }),
    close: proxy.close,
  };
}
