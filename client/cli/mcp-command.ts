import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { AirlockClient, AirlockClientOptions } from '../airlock-client';
import { createMcpServer } from '../mcp-server';
import { startMcpHttpGateway } from '../mcp-http';
import { loadPolicyView, type PolicyFiles, type PolicyView } from '../mcp-policy-view';
import { TokenBook } from '../mcp-tokens';
import { keysDir, loadSigningKey } from '../../crypto/signing-keys';
import { createDefaultRegistry, defaultCatalog } from '../../tasks';
import { parseDurationSeconds } from '../../common/durations';
import { visible } from '../../common/terminal-text';
import { envList } from '../../config/env-list';
import { PRINCIPAL_ID } from '../../common/identifiers';

/** What `airlock mcp` was asked for. */
export interface McpCommandOptions {
  /** Serve Streamable HTTP for many agents instead of stdio for one. */
  http?: boolean;
  host?: string;
  port?: string;
  /** The MCP endpoint's public URL, when a proxy is in front. */
  url?: string;
}

/** What the command needs from the CLI around it. */
export interface McpCommandDeps {
  /** Connects to Temporal, or throws an error that says what stands in the way. */
  connect: (opts: AirlockClientOptions) => Promise<AirlockClient>;
  /** The CLI's error for a person: printed, exit code 1. */
  fail: (message: string) => Error;
  /** Prints for people, or the JSON when --json was given. */
  print?: (human: string, json: unknown) => void;
  /** Reads the local stack's profile into the environment, for what the environment leaves unset. */
  useProfile?: () => unknown;
}

/** Options of `airlock mcp token create`. */
export interface McpTokenOptions {
  user?: string;
  audience?: string;
  expires?: string;
  label?: string;
}

/** The default port of `airlock mcp --http`. */
export const MCP_HTTP_PORT = 8765;

/** The token file: AIRLOCK_MCP_TOKENS_FILE, else `.airlock/mcp-tokens.json` in the current folder. */
export const tokenFile = (env: NodeJS.ProcessEnv = process.env): string =>
  resolve(env.AIRLOCK_MCP_TOKENS_FILE || '.airlock/mcp-tokens.json');

/** The MCP endpoint's URL tokens are issued for: AIRLOCK_MCP_URL, else the local default. */
export const defaultAudience = (env: NodeJS.ProcessEnv = process.env): string =>
  env.AIRLOCK_MCP_URL || `http://127.0.0.1:${MCP_HTTP_PORT}/mcp`;

/** The policy files the workers enforce, from the environment; undefined when none is set. */
function policyFiles(deps: McpCommandDeps, required: boolean): PolicyFiles | undefined {
  deps.useProfile?.();
  const { AIRLOCK_POLICIES_DIR: policiesDir, AIRLOCK_APPROVERS_FILE: approversFile } = process.env;
  const { AIRLOCK_AGENTS_FILE: agentsFile } = process.env;
  if (policiesDir && approversFile && agentsFile) return { policiesDir, approversFile, agentsFile };
  if (!required && !policiesDir) return undefined;
  throw deps.fail(
    'Set AIRLOCK_POLICIES_DIR, AIRLOCK_APPROVERS_FILE and AIRLOCK_AGENTS_FILE to the files the workers use: the MCP server ' +
      "shows each agent only the tasks policy could allow it, and checks tokens against the agents' registered keys.",
  );
}

/**
 * `airlock mcp`: over stdio, serves the one agent its environment names (AIRLOCK_AGENT, AIRLOCK_USER) until the
 * client closes stdin; with `--http`, serves every agent that holds a token, until SIGINT or SIGTERM.
 */
export async function serveMcp(opts: McpCommandOptions, deps: McpCommandDeps): Promise<void> {
  if (opts.http) return serveHttp(opts, deps);
  const agent = process.env.AIRLOCK_AGENT;
  if (!agent)
    throw deps.fail(
      'Set AIRLOCK_AGENT to the agent this MCP server proposes as (and AIRLOCK_USER to the user it acts for, if any).',
    );
  // The agent's private key signs every proposal: AIRLOCK_AGENT_KEY (a PEM file), else <agent>.key in the keys directory.
  const keyFile = process.env.AIRLOCK_AGENT_KEY;
  const key = keyFile ? createPrivateKey(readFileSync(keyFile)) : loadSigningKey(agent);
  const files = policyFiles(deps, false);
  const view = files ? loadPolicyView(files, createDefaultRegistry()) : undefined;
  const client = await deps.connect({ agentKey: () => key });
  const identity = { agent, user: process.env.AIRLOCK_USER || undefined };
  const mcp = createMcpServer(client, identity, defaultCatalog(), {
    ...(view ? { mayEverAllow: (task, preview) => view.mayEverAllow(identity, task, preview) } : {}),
  });
  await mcp.server.connect(new StdioServerTransport());
  const poll = view
    ? setInterval(() => {
        if (view.reload()) void mcp.refresh();
      }, 1000)
    : undefined;
  poll?.unref();
  // Serve until the client closes stdin.
  await new Promise<void>((done) => process.stdin.once('close', done).once('end', done));
  if (poll) clearInterval(poll);
}

async function serveHttp(opts: McpCommandOptions, deps: McpCommandDeps): Promise<void> {
  const files = policyFiles(deps, true) as PolicyFiles;
  const policy: PolicyView = loadPolicyView(files, createDefaultRegistry());
  const dir = keysDir();
  // The gateway holds the agents' private keys (<agent>.key in the keys directory): it signs as whom the token names.
  // Read at each proposal, so that a rotated key is used as soon as its file is replaced.
  const client = await deps.connect({ agentKey: (agent) => loadSigningKey(agent, dir) });
  const publicUrl = opts.url || process.env.AIRLOCK_MCP_URL;
  if (publicUrl && !URL.canParse(publicUrl))
    throw deps.fail(
      `${opts.url ? '--url' : 'AIRLOCK_MCP_URL'} "${visible(publicUrl)}" is not a URL; give the MCP endpoint's public URL, e.g. https://airlock.example.com/mcp.`,
    );
  const port = opts.port === undefined ? MCP_HTTP_PORT : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw deps.fail(`--port ${opts.port} is not a port number (0 to 65535).`);
  const perMinute = process.env.AIRLOCK_MCP_CALLS_PER_MINUTE;
  if (perMinute !== undefined && !/^[1-9]\d*$/.test(perMinute))
    throw deps.fail(`AIRLOCK_MCP_CALLS_PER_MINUTE is "${perMinute}"; it must be a whole number of at least 1.`);
  const gateway = await startMcpHttpGateway({
    airlock: client,
    catalog: defaultCatalog(),
    tokens: new TokenBook(tokenFile()),
    policy,
    host: opts.host ?? '127.0.0.1',
    port,
    publicUrl: opts.url || process.env.AIRLOCK_MCP_URL || undefined,
    ...(perMinute ? { callsPerMinute: Number(perMinute) } : {}),
    allowedOrigins: envList(process.env.AIRLOCK_MCP_ALLOWED_ORIGINS),
    authorizationServers: envList(process.env.AIRLOCK_MCP_AUTHORIZATION_SERVERS),
  });
  process.stdout.write(`airlock mcp: serving Streamable HTTP at ${gateway.url} (tokens: ${tokenFile()})\n`);
  // Tokens made without --audience are for the default endpoint: say so when this gateway is another.
  if (defaultAudience() !== gateway.url)
    process.stderr.write(
      `airlock mcp: tokens are checked against ${gateway.url}; make them with \`airlock mcp token create <agent> --audience ${gateway.url}\` (or set AIRLOCK_MCP_URL=${gateway.url} for both).\n`,
    );
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(opts.host ?? '127.0.0.1');
  if (!loopback && new URL(gateway.url).protocol === 'http:')
    process.stderr.write(
      'airlock mcp: warning: listening beyond this machine over plain HTTP, so bearer tokens cross the network in clear. Put a TLS proxy in front and pass its address with --url https://….\n',
    );
  await new Promise<void>((done) => process.once('SIGTERM', done).once('SIGINT', done));
  await gateway.close();
}

/** `airlock mcp token create <agent>`: makes a token and prints it once. */
export function createToken(agent: string, o: McpTokenOptions, deps: McpCommandDeps): void {
  const files = policyFiles(deps, true) as PolicyFiles;
  const view = loadPolicyView(files, createDefaultRegistry());
  const agentKey = view.agentKey(agent);
  if (!agentKey)
    throw deps.fail(
      `${visible(agent)} is not an agent in ${files.agentsFile}. Register it there (with its public key) before giving it a token.`,
    );
  const seconds = parseDurationSeconds(o.expires ?? '90d', '--expires');
  const audience = o.audience ?? defaultAudience();
  try {
    new URL(audience);
  } catch {
    throw deps.fail(
      `--audience ${audience} is not a URL; give the MCP endpoint's URL, e.g. https://airlock.example.com/mcp.`,
    );
  }
  if (o.user !== undefined && !PRINCIPAL_ID.test(o.user))
    throw deps.fail(`--user "${visible(o.user)}" is not a user id (2 to 64 letters, digits and +=,.@_-).`);
  if (o.label !== undefined && o.label.length > 200)
    throw deps.fail(`--label has ${o.label.length} characters; a label has at most 200.`);
  const { token, record } = new TokenBook(tokenFile()).create({
    agent,
    user: o.user,
    audience,
    agentKey,
    seconds,
    label: o.label,
  });
  deps.print?.(
    `${token}\n\nToken ${record.id} for agent ${record.agent}${record.user ? ` acting for ${record.user}` : ''} at ${visible(record.audience)}, ` +
      `until ${record.expiresAt}. It is shown once: give it to the agent's backend as its bearer token.`,
    { token, ...record, secretHash: undefined },
  );
}

/** `airlock mcp token list`. */
export function listTokens(deps: McpCommandDeps): void {
  deps.useProfile?.();
  const records = new TokenBook(tokenFile()).list();
  const now = new Date();
  const state = (r: (typeof records)[number]) =>
    r.revokedAt ? `revoked ${r.revokedAt}` : new Date(r.expiresAt) <= now ? 'expired' : `until ${r.expiresAt}`;
  deps.print?.(
    records.length
      ? records
          .map(
            (r) =>
              `${r.id}  ${r.agent}${r.user ? ` for ${r.user}` : ''}  ${visible(r.audience)}  ${state(r)}${r.label ? `  ${visible(r.label)}` : ''}`,
          )
          .join('\n')
      : `No MCP tokens in ${tokenFile()}.`,
    records.map(({ secretHash: _hidden, ...r }) => r),
  );
}

/** `airlock mcp token revoke <id>`. */
export function revokeToken(id: string, deps: McpCommandDeps): void {
  deps.useProfile?.();
  if (!new TokenBook(tokenFile()).revoke(id))
    throw deps.fail(`There is no token ${id} that is not revoked already; \`airlock mcp token list\` shows them.`);
  deps.print?.(`Token ${id} is revoked: the MCP server refuses it from its next request on.`, {
    id,
    revoked: true,
  });
}
