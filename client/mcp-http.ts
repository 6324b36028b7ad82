import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AirlockClient } from './airlock-client';
import type { TaskCatalog } from '../tasks/task-registry';
import { createMcpServer, type AirlockMcpServer } from './mcp-server';
import type { PolicyView } from './mcp-policy-view';
import { TokenRefusal, type TokenBook, type TokenHolder } from './mcp-tokens';
import { visible } from '../common/terminal-text';

/** How the MCP HTTP gateway is set up. */
export interface McpHttpOptions {
  airlock: AirlockClient;
  catalog: TaskCatalog;
  tokens: TokenBook;
  policy: PolicyView;
  host?: string;
  /** 0 (the default): any free port. */
  port?: number;
  /**
   * The server's public URL of its MCP endpoint (the resource tokens are issued for, RFC 8707), when it is reached
   * through a proxy; by default `http://<host>:<port>/mcp`.
   */
  publicUrl?: string;
  /** Tool calls one agent may make a minute, over all its sessions (60 by default). */
  callsPerMinute?: number;
  /** Sessions one token may hold open at once (20 by default); its least recently used one is closed for a new one. */
  sessionsPerToken?: number;
  /** A session unused this long is closed (30 minutes by default). */
  idleMs?: number;
  /** Browser origins allowed to call (none by default: agents are not browsers). */
  allowedOrigins?: readonly string[];
  /** OAuth authorization servers to name in the protected resource metadata, if tokens come from one. */
  authorizationServers?: readonly string[];
  /** Connections held open at once, over all agents (1000 by default). */
  maxConnections?: number;
  /** How often the policy and token files are checked for changes (1 s by default). */
  pollMs?: number;
}

/** A running gateway. */
export interface McpHttpGateway {
  /** The MCP endpoint's URL: the audience of its tokens. */
  url: string;
  /** Open sessions, by agent. */
  sessions(): Record<string, number>;
  close(): Promise<void>;
}

/** The largest request body the gateway reads. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Why a request's credential was refused, as RFC 6750 says it. */
interface Refusal {
  error: 'invalid_token' | 'invalid_request';
  why: string;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  mcp: AirlockMcpServer;
  holder: TokenHolder;
  lastSeen: number;
  /** Requests of the session still open (an event stream may stay open for hours): it is not idle while any is. */
  open: number;
}

/** A token bucket per agent: `perMinute` calls, refilled evenly. */
function rateLimiter(perMinute: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (agent: string): number | undefined => {
    const t = now();
    const b = buckets.get(agent) ?? { tokens: perMinute, at: t };
    b.tokens = Math.min(perMinute, b.tokens + ((t - b.at) / 60_000) * perMinute);
    b.at = t;
    buckets.set(agent, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - b.tokens) / perMinute) * 60);
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
};

/**
 * Airlock's MCP server over Streamable HTTP, for many agents at once. Each request must carry a bearer token
 * (`Authorization: Bearer airlock_mcp_…`, never in the URL) that names the agent, the user it acts for and the
 * server it is for; the identity comes from the token, never from arguments. Follows the MCP authorization spec as
 * a resource server: 401 with `WWW-Authenticate` pointing at the protected resource metadata
 * (`/.well-known/oauth-protected-resource/mcp`), audience checked, tokens re-checked on every request (so a revoked
 * one stops at once, and its sessions are closed). A session belongs to the token that opened it. Each agent's
 * tool calls are rate limited; a call over the limit is a tool error that says when to try again, and does nothing.
 * Policy and identity files are watched: when what an agent could be allowed changes, its sessions get
 * `notifications/tools/list_changed`.
 */
export async function startMcpHttpGateway(o: McpHttpOptions): Promise<McpHttpGateway> {
  const host = o.host ?? '127.0.0.1';
  if (o.publicUrl !== undefined && !URL.canParse(o.publicUrl))
    throw new Error(
      `The MCP endpoint's public URL "${visible(o.publicUrl)}" is not a URL (e.g. https://airlock.example.com/mcp).`,
    );
  const sessions = new Map<string, Session>();
  const admit = rateLimiter(o.callsPerMinute ?? 60);
  const sessionsPerToken = o.sessionsPerToken ?? 20;
  const idleMs = o.idleMs ?? 30 * 60_000;
  let url = '';
  let base = '';
  // RFC 9728: the metadata of the resource https://host/path is at https://host/.well-known/oauth-protected-resource/path.
  const metadataUrl = () => `${base}/.well-known/oauth-protected-resource${new URL(url).pathname}`;

  const closeSession = async (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.mcp.server.close().catch(() => undefined);
  };

  /** 401, saying where the protected resource metadata is, and why a token given was refused (RFC 6750, 9728). */
  const unauthorized = (res: ServerResponse, refusal?: Refusal) => {
    const params = refusal
      ? `error="${refusal.error}", error_description="${refusal.why.replace(/["\\]/g, '')}", resource_metadata="${metadataUrl()}"`
      : `resource_metadata="${metadataUrl()}"`;
    json(
      res,
      401,
      refusal
        ? { error: refusal.error, error_description: refusal.why }
        : {
            error: 'invalid_request',
            error_description: 'This server needs a bearer token (Authorization: Bearer …).',
          },
      { 'www-authenticate': `Bearer ${params}` },
    );
  };

  const authenticate = (req: IncomingMessage): TokenHolder | Refusal | undefined => {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const m = /^Bearer ([^\s]+)$/i.exec(header);
    if (!m) return { error: 'invalid_request', why: "The Authorization header must be 'Bearer <token>'." };
    try {
      return o.tokens.verify(m[1], url, (agent) => o.policy.agentKey(agent));
    } catch (err) {
      if (err instanceof TokenRefusal) return { error: 'invalid_token', why: err.message };
      throw err;
    }
  };

  const newSession = async (holder: TokenHolder): Promise<StreamableHTTPServerTransport> => {
    // Only the token's own sessions count, and only its own are closed: another token of the same agent (acting for
    // another user, say) cannot push anyone's session out.
    const own = [...sessions.entries()].filter(([, s]) => s.holder.tokenId === holder.tokenId);
    if (own.length >= sessionsPerToken) {
      const [oldest] = own.sort(([, a], [, b]) => a.lastSeen - b.lastSeen)[0];
      await closeSession(oldest);
    }
    const identity = { agent: holder.agent, user: holder.user };
    const mcp = createMcpServer(o.airlock, identity, o.catalog, {
      mayEverAllow: (task, preview) => o.policy.mayEverAllow(identity, task, preview),
      admit: () => {
        const wait = admit(holder.agent);
        return wait === undefined
          ? undefined
          : `Rate limit: agent ${holder.agent} may make ${o.callsPerMinute ?? 60} tool calls a minute, and made more; nothing was done. Try again in ${wait} s.`;
      },
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: MAX_BODY_BYTES,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, mcp, holder, lastSeen: Date.now(), open: 0 });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    await mcp.server.connect(transport);
    return transport;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path.startsWith('/.well-known/oauth-protected-resource')) {
      return json(res, 200, {
        resource: url,
        resource_name: 'Airlock',
        bearer_methods_supported: ['header'],
        ...(o.authorizationServers?.length ? { authorization_servers: o.authorizationServers } : {}),
      });
    }
    if (path !== '/mcp') return json(res, 404, { error: 'not_found', error_description: 'The MCP endpoint is /mcp.' });
    // DNS rebinding: a browser page must not reach a gateway on this machine through a name of its own.
    const origin = req.headers.origin;
    if (origin && !(o.allowedOrigins ?? []).includes(origin))
      return json(res, 403, { error: 'forbidden', error_description: 'This origin may not call the MCP server.' });
    if (/[?&](access_token|token)=/.test(req.url ?? ''))
      return json(res, 400, {
        error: 'invalid_request',
        error_description: 'Send the token in the Authorization header, never in the URL.',
      });
    const holder = authenticate(req);
    if (holder === undefined) return unauthorized(res);
    if ('error' in holder) return unauthorized(res, holder);

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      // Another token's session does not exist for this one (it is not told the difference).
      if (!session || session.holder.tokenId !== holder.tokenId)
        return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      session.lastSeen = Date.now();
      session.open++;
      res.once('close', () => {
        session.open--;
        session.lastSeen = Date.now();
      });
      return session.transport.handleRequest(req, res);
    }
    if (req.method !== 'POST')
      return json(res, 400, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'No session: start one with an initialize request.' },
        id: null,
      });
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined)
      return json(
        res,
        413,
        { error: 'request_too_large', error_description: `A request body may have at most ${MAX_BODY_BYTES} bytes.` },
        { connection: 'close' },
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return json(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    }
    if (!isInitializeRequest(parsed))
      return json(res, 400, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'No session: start one with an initialize request.' },
        id: null,
      });
    const transport = await newSession(holder);
    await transport.handleRequest(req, res, parsed);
  };

  let lastError = '';
  const http = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      // Said once until it changes: a broken token file must not let anyone flood the log with requests.
      if (err.message !== lastError) process.stderr.write(`airlock mcp: ${visible(err.message)}\n`);
      lastError = err.message;
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: 'The request failed.' });
      else res.end();
    });
  });
  // Slow or endless request headers and bodies are cut off; event streams (responses) are not.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.maxConnections = o.maxConnections ?? 1000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  url = o.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`;
  base = new URL(url).origin;

  // Policy, identity and token files are checked for changes; sessions whose token stopped being valid are closed.
  const poll = setInterval(() => {
    void (async () => {
      o.policy.reload();
      for (const [id, s] of sessions) {
        if (s.open === 0 && Date.now() - s.lastSeen > idleMs) {
          await closeSession(id);
          continue;
        }
        let valid = true;
        try {
          valid = o.tokens.stillValid(s.holder.tokenId, url, (agent) => o.policy.agentKey(agent));
        } catch {
          // A token file that does not read now is read again at the next check.
        }
        if (!valid) {
          await closeSession(id);
          continue;
        }
        // Every poll, not only after a change: a session made while the files were read again must not keep the
        // tools of before (refresh notifies only when its own list changed).
        await s.mcp.refresh();
      }
    })();
  }, o.pollMs ?? 1000);
  poll.unref();

  return {
    url,
    sessions() {
      const out: Record<string, number> = {};
      for (const s of sessions.values()) out[s.holder.agent] = (out[s.holder.agent] ?? 0) + 1;
      return out;
    },
    async close() {
      clearInterval(poll);
      await Promise.all([...sessions.keys()].map(closeSession));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The request's body, or undefined when it is longer than `limit` bytes (the rest is read and dropped). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limit) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.once('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}
