import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the proxy received it, body read whole. */
export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `METHOD path X-Amz-Target Action`: what an AWS call is, whichever protocol it speaks. */
  operation: string;
}

/** What to do with one request: answer it here (a fault), or forward it and be told of the answer. */
export type Interception =
  | { answer: { status: number; body: string; contentType?: string } }
  | { forwarded?: (status: number, body: Buffer) => Buffer | void };

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` that shows every request to `intercept` first. The test suite
 * records and injects faults with it; the benchmark times AWS calls with it.
 */
export async function startInterceptingProxy(
  target: string,
  intercept: (req: ProxiedRequest) => Interception,
): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? '';
      const operation = `${req.method} ${req.url} ${String(req.headers['x-amz-target'] ?? '')} ${action}`;
      const what = intercept({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, operation });
      if ('answer' in what) {
        res.writeHead(what.answer.status, { 'content-type': what.answer.contentType ?? 'application/json' });
        res.end(what.answer.body);
        return;
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            const text = Buffer.concat(out);
            const replaced = what.forwarded?.(up.statusCode ?? 502, text);
            const headers = { ...up.headers };
            if (replaced) {
              delete headers['transfer-encoding'];
              headers['content-length'] = String(replaced.length);
            }
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(replaced ?? text);
          });
        },
      );
      forward.on('error', (err) => {
        what.forwarded?.(502, Buffer.from(String(err)));
        res.writeHead(502);
        res.end(String(err));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
