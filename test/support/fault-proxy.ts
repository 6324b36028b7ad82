import { startInterceptingProxy, type Interception } from '../../stack/intercepting-proxy';

/** A request that passed through the proxy. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The status the client got back. */
  status: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  url: string;
  /** Every request, in order, with the status returned. */
  requests: RecordedRequest[];
  /** Fails the next `times` requests whose `METHOD path X-Amz-Target Action` line matches, with `status`. */
  failNext(match: RegExp, status: number, times: number): void;
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
  const faults: { match: RegExp; status: number; times: number }[] = [];
  const requests: RecordedRequest[] = [];
  const patches: { match: RegExp; patch: (answer: Record<string, unknown>) => Record<string, unknown> }[] = [];
  const proxy = await startInterceptingProxy(target, (req): Interception => {
    const recorded: RecordedRequest = {
      method: req.method,
      path: req.path,
      headers: req.headers,
      body: req.body.toString('utf8'),
      status: 0,
    };
    requests.push(recorded);
    const fault = faults.find((f) => f.times > 0 && f.match.test(req.operation));
    const patch = patches.find((p) => p.match.test(req.operation));
    if (!fault)
      return {
        forwarded: (status, body) => {
          recorded.status = status;
          if (patch && status === 200)
            return Buffer.from(
              JSON.stringify(patch.patch(JSON.parse(body.toString('utf8')) as Record<string, unknown>)),
            );
        },
      };
    fault.times -= 1;
    recorded.status = fault.status;
    const message = `injected fault for ${req.operation.trim()}`;
    // Shaped for both AWS JSON protocols (__type) and Stripe (error.type).
    return {
      answer: {
        status: fault.status,
        contentType: 'application/x-amz-json-1.1',
        body: JSON.stringify({
          __type: fault.status >= 500 ? 'ServiceUnavailable' : 'ValidationException',
          message,
          error: { type: fault.status >= 500 ? 'api_error' : 'invalid_request_error', message },
        }),
      },
    };
  });
  return {
    url: proxy.url,
    requests,
    failNext: (match, status, times) => faults.push({ match, status, times }),
    patchAnswers: (match, patch) => patches.push({ match, patch }),
    close: proxy.close,
  };
}
