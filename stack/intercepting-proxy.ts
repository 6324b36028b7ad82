import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
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

/**
 * What to do with one request: answer it here (a fault), cut the connection without an answer (a reset), or forward
 * it and be told of the answer. `forwarded` may take its time (a slow target, or a test that holds the answer while
 * it kills the caller); what it returns replaces the body.
 */
export type Interception =
  | { answer: { status: number; body: string; contentType?: string; headers?: Record<string, string> } }
  | { reset: true }
  | { forwarded?: (status: number, body: Buffer) => Buffer | void | Promise<Buffer | void> };

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` that shows every request to `intercept` first; `intercept` may
 * hold a request as long as it likes before saying what to do with it. The test suites record and inject faults
 * with it.
 */
export async function startInterceptingProxy(
  target: string,
  intercept: (req: ProxiedRequest) => Interception | Promise<Interception>,
): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? '';
        const operation = `${req.method} ${req.url} ${String(req.headers['x-amz-target'] ?? '')} ${action}`;
        const what = await intercept({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          operation,
        });
        if ('reset' in what) {
          req.socket.resetAndDestroy();
          return;
        }
        if ('answer' in what) {
          res.writeHead(what.answer.status, {
            'content-type': what.answer.contentType ?? 'application/json',
            ...what.answer.headers,
          });
          res.end(what.answer.body);
          return;
        }
        const forward = request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            const out: Buffer[] = [];
            up.on('data', (c: Buffer) => out.push(c));
            up.on('end', () => {
              void (async () => {
                const text = Buffer.concat(out);
                const replaced = await what.forwarded?.(up.statusCode ?? 502, text);
                if (res.destroyed) return; // the caller is gone (timed out, or killed while the answer was held)
                const headers = { ...up.headers };
                if (replaced) {
                  delete headers['transfer-encoding'];
                  headers['content-length'] = String(replaced.length);
                }
                res.writeHead(up.statusCode ?? 502, headers);
                res.end(replaced ?? text);
              })();
            });
          },
        );
        forward.on('error', (err) => {
          void what.forwarded?.(502, Buffer.from(String(err)));
          if (res.destroyed) return;
          res.writeHead(502);
          res.end(String(err));
        });
        forward.end(body);
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // Held requests would keep the server open: their connections are cut.
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
