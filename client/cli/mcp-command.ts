import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { AirlockClient, AirlockClientOptions } from '../airlock-client';
import { createMcpServer } from '../mcp-server';
import { loadSigningKey } from '../../crypto/signing-keys';
import { defaultCatalog } from '../../tasks';

/** What `airlock mcp` was asked for. */
export type McpCommandOptions = Record<string, never>;

/** What the command needs from the CLI around it. */
export interface McpCommandDeps {
  /** Connects to Temporal, or throws an error that says what stands in the way. */
  connect: (opts: AirlockClientOptions) => Promise<AirlockClient>;
  /** The CLI's error for a person: printed, exit code 1. */
  fail: (message: string) => Error;
}

/**
 * `airlock mcp`: serves one agent over stdio until the client closes stdin. The agent and user come from the
 * environment of whoever starts the server, never from the model.
 */
export async function serveMcp(_opts: McpCommandOptions, deps: McpCommandDeps): Promise<void> {
  const agent = process.env.AIRLOCK_AGENT;
  if (!agent)
    throw deps.fail(
      'Set AIRLOCK_AGENT to the agent this MCP server proposes as (and AIRLOCK_USER to the user it acts for, if any).',
    );
  // The agent's private key signs every proposal: AIRLOCK_AGENT_KEY (a PEM file), else <agent>.key in the keys directory.
  const keyFile = process.env.AIRLOCK_AGENT_KEY;
  const key = keyFile ? createPrivateKey(readFileSync(keyFile)) : loadSigningKey(agent);
  const client = await deps.connect({ agentKey: () => key });
  const server = createMcpServer(client, { agent, user: process.env.AIRLOCK_USER || undefined }, defaultCatalog());
  await server.connect(new StdioServerTransport());
  // Serve until the client closes stdin.
  await new Promise<void>((resolve) => process.stdin.once('close', resolve).once('end', resolve));
}
