import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running fault proxy. */
export interface FaultProxy {
  url: string;
  /** Fails the next `times` requests whose operation (X-Amz-Target or query Action) matches, with `status`. */
  failNext(match: RegExp, status: number, times: number): void;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of moto that can make chosen AWS operations fail, to see a target error and a retry on an
 * AWS target the way they happen in production: the request reaches the wire and an error comes back.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const faults: { match: RegExp; status: number; times: number }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '') + ' ' + (new URLSearchParams(body.toString('utf8')).get('Action') ?? '');
      const fault = faults.find((f) => f.times > 0 && f.match.test(operation));
      if (fault) {
        fault.times -= 1;
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1' });
        return res.end(JSON.stringify({ __type: fault.status >= 500 ? 'ServiceUnavailable' : 'ValidationException', message: `injected fault for ${operation.trim()}` }));
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
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
    failNext: (match, status, times) => faults.push({ match, status, times }),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
