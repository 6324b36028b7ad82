import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a target (moto, stripe-mock) that records what it forwards and can make chosen AWS operations fail, to see a target error and a retry on an
 * AWS target the way they happen in production: the request reaches the wire and an error comes back.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const faults: { match: RegExp; status: number; times: number }[] = [];
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = `${req.method} ${req.url} ${String(req.headers['x-amz-target'] ?? '')} ${new URLSearchParams(body.toString('utf8')).get('Action') ?? ''}`;
      const fault = faults.find((f) => f.times > 0 && f.match.test(operation));
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
        status: 0,
      };
      requests.push(recorded);
      if (fault) {
        fault.times -= 1;
        recorded.status = fault.status;
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1' });
        const message = `injected fault for ${operation.trim()}`;
        // Shaped for both AWS JSON protocols (__type) and Stripe (error.type).
        return res.end(
          JSON.stringify({
            __type: fault.status >= 500 ? 'ServiceUnavailable' : 'ValidationException',
            message,
            error: { type: fault.status >= 500 ? 'api_error' : 'invalid_request_error', message },
          }),
        );
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          recorded.status = up.statusCode ?? 502;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext: (match, status, times) => faults.push({ match, status, times }),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
