import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** Payloads as the codec server protocol carries them: proto3 JSON, bytes in base64. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** A running codec server. */
export interface CodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Temporal's codec server protocol (POST /encode, POST /decode), so that people allowed to (holders of the bearer
 * token) read decrypted histories in the Web UI and with `temporal workflow show --codec-endpoint`.
 *
 * - Every request must carry `Authorization: Bearer <token>`, except, when `trustedUiOrigin` is given, requests
 *   from that browser origin: the dev server's Web UI has no login and so no token to pass. Production must not set
 *   it, and must configure the UI to pass its users' access tokens instead.
 * - CORS admits `allowedOrigins` (the Web UI) with the headers the UI sends.
 */
export async function startCodecServer(opts: {
  codec: PayloadCodec;
  token: string;
  allowedOrigins: string[];
  trustedUiOrigin?: string;
  host?: string;
  port?: number;
}): Promise<CodecServer> {
  const expected = Buffer.from(`Bearer ${opts.token}`);
  const authorised = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length === expected.length && timingSafeEqual(got, expected)) return true;
    return opts.trustedUiOrigin !== undefined && req.headers.origin === opts.trustedUiOrigin;
  };
  const cors = (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (origin && opts.allowedOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Namespace');
      res.setHeader('Vary', 'Origin');
    }
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    void (async () => {
      cors(req, res);
      if (req.method === 'OPTIONS') {
        res.writeHead(204);
        return res.end();
      }
      const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
      if (req.method !== 'POST' || (path !== '/encode' && path !== '/decode')) {
        return send(res, 404, { message: 'POST /encode or POST /decode with {"payloads": [...]}' });
      }
      if (!authorised(req)) return send(res, 401, { message: 'A valid bearer token is required (Authorization: Bearer <token>).' });
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let body: { payloads?: JsonPayload[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { message: 'The body is not JSON.' });
      }
      const payloads = (body.payloads ?? []).map(fromJson);
      const out = path === '/encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      send(res, 200, { payloads: out.map(toJson) });
    })().catch((err: unknown) => send(res, 400, { message: (err as Error).message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${opts.host ?? '127.0.0.1'}:${port}`, server, close: () => new Promise((r) => server.close(() => r())) };
}
