import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sameSecret } from './same-secret';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { createRemoteJWKSet, jwtVerify } from 'jose';

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
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** A running codec server. */
export interface CodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Who may use the codec server. */
export interface CodecServerAuth {
  /** A static bearer token (`Authorization: Bearer <token>`): the Temporal CLI's `--codec-auth`, scripts. */
  token?: string;
  /**
   * Access tokens the Web UI passes for its signed-in users (`codec.passAccessToken`), verified as JWTs against the
   * identity provider's JWKS: signature, issuer, audience and expiry.
   */
  oidc?: { jwksUrl: string; issuer: string; audience: string };
  /**
   * Development only, and only when asked for: requests from this browser origin need no token (the dev server's
   * Web UI has no login). Any process on the machine can send that Origin header, so it is never a default.
   */
  trustedUiOrigin?: string;
}

/**
 * Temporal's codec server protocol (POST /encode, POST /decode), so that people allowed to read decrypted
 * histories do so in the Web UI and with `temporal workflow show --codec-endpoint`.
 *
 * - Every request must carry a bearer credential `auth` accepts: the static token, or a verified OIDC access token.
 * - The codec decides what happens to a payload it cannot decrypt; Airlock's (mode `mark`) returns the refusal
 *   marker in its place, never the payload itself and never a half-decrypted one.
 * - CORS admits `allowedOrigins` (the Web UI) with the headers the UI sends.
 */
export async function startCodecServer(opts: {
  codec: PayloadCodec;
  auth: CodecServerAuth;
  allowedOrigins: string[];
  host?: string;
  port?: number;
}): Promise<CodecServer> {
  const { auth } = opts;
  if (!auth.token && !auth.oidc && !auth.trustedUiOrigin)
    throw new Error('The codec server needs a token or OIDC settings: it must never decode for anyone who asks.');
  const expected = auth.token ? `Bearer ${auth.token}` : undefined;
  const jwks = auth.oidc ? createRemoteJWKSet(new URL(auth.oidc.jwksUrl)) : undefined;
  const authorised = async (req: IncomingMessage): Promise<boolean> => {
    const header = req.headers.authorization ?? '';
    if (expected && sameSecret(header, expected)) return true;
    const bearer = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(header)?.[1];
    if (jwks && auth.oidc && bearer?.includes('.')) {
      try {
        await jwtVerify(bearer, jwks, {
          issuer: auth.oidc.issuer,
          audience: auth.oidc.audience,
          algorithms: ['RS256', 'ES256', 'EdDSA'],
        });
        return true;
      } catch {
        return false;
      }
    }
    return auth.trustedUiOrigin !== undefined && req.headers.origin === auth.trustedUiOrigin;
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
      if (!(await authorised(req)))
        return send(res, 401, { message: 'A valid bearer token is required (Authorization: Bearer <token>).' });
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
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
