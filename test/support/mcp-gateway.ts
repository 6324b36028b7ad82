import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startMcpHttpGateway, type McpHttpGateway } from '../../client/mcp-http';
import { loadPolicyView, type PolicyView } from '../../client/mcp-policy-view';
import { TokenBook } from '../../client/mcp-tokens';
import { createDefaultRegistry, defaultCatalog } from '../../tasks';
import { policiesWith } from './policies-with';
import { startHarness, type Harness } from './harness';

/** The MCP HTTP gateway in process, on the suite's real Temporal with a real worker, and the means to reach it. */
export interface TestGateway {
  h: Harness;
  gateway: McpHttpGateway;
  tokens: TokenBook;
  policy: PolicyView;
  /** The gateway's policies: a copy of the repository's, which a test may change. */
  policiesDir: string;
  /** A token for `agent` (for `user`), for this gateway unless another audience is given. */
  tokenFor(
    agent: string,
    o?: { user?: string; seconds?: number; audience?: string; book?: TokenBook; view?: PolicyView },
  ): ReturnType<TokenBook['create']>;
  /** The SDK's own client, connected over Streamable HTTP with `token`. */
  connect(token: string): Promise<Client>;
  /** A raw POST to the gateway (an initialize unless another body is given). */
  post(headers: Record<string, string>, body?: unknown, url?: string): Promise<Response>;
  close(): Promise<void>;
}

/** A raw MCP initialize request. */
export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** Starts a harness and a gateway in front of it, with short limits a test can reach. */
export async function startTestGateway(o: {
  taskQueue?: string;
  callsPerMinute: number;
  sessionsPerToken: number;
}): Promise<TestGateway> {
  const policiesDir = policiesWith('');
  const h = await startHarness({ policiesDir, ...(o.taskQueue ? { taskQueue: o.taskQueue } : {}) });
  const tokens = new TokenBook(join(mkdtempSync(join(tmpdir(), 'airlock-mcp-')), 'tokens.json'));
  const policy = loadPolicyView(
    { policiesDir, approversFile: h.approversFile, agentsFile: h.agentsFile },
    createDefaultRegistry(),
  );
  const gateway = await startMcpHttpGateway({
    airlock: h.airlock,
    catalog: defaultCatalog(),
    tokens,
    policy,
    callsPerMinute: o.callsPerMinute,
    sessionsPerToken: o.sessionsPerToken,
    pollMs: 100,
  });
  const clients: Client[] = [];
  return {
    h,
    gateway,
    tokens,
    policy,
    policiesDir,
    tokenFor: (agent, t = {}) =>
      (t.book ?? tokens).create({
        agent,
        user: t.user,
        audience: t.audience ?? gateway.url,
        agentKey: (t.view ?? policy).agentKey(agent)!,
        seconds: t.seconds ?? 3600,
      }),
    async connect(token) {
      const transport = new StreamableHTTPClientTransport(new URL(gateway.url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      const client = new Client({ name: 'airlock-test-agent', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    post: (headers, body = INITIALIZE, url = gateway.url) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gateway.close();
      await h.close();
    },
  };
}
