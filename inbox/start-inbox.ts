import { dirname, join } from 'node:path';
import type { AirlockClient } from '../client/airlock-client';
import { loadIdentities } from '../config/identities';
import { createDefaultRegistry } from '../tasks';
import { InviteBook } from './invite-book';
import { createInboxServer } from './inbox-server';
import { freePort } from '../stack/free-port';

/** Where the inbox keeps its own state (invites, passkey counters): beside the approvers file unless told. */
export function inboxStateDir(approversFile: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.AIRLOCK_INBOX_DIR ?? join(dirname(approversFile), 'inbox');
}

/** The invites of an inbox whose state lives in `stateDir`. */
export const invitesIn = (stateDir: string) => new InviteBook(join(stateDir, 'invites.json'));

/** A running inbox. */
export interface RunningInbox {
  /** The address approvers open (the origin passkeys are bound to). */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the inbox on `host:port` (127.0.0.1 by default; port 0 picks a free one on 127.0.0.1). Approvers open it at `origin`,
 * which defaults to http://localhost:<port>: WebAuthn needs a host name, not an IP address, and browsers treat
 * localhost as a secure context. Put TLS in front of it (and pass that origin) anywhere but on one's own machine.
 */
export async function startInbox(o: {
  client: AirlockClient;
  approversFile: string;
  agentsFile: string;
  host?: string;
  port?: number;
  origin?: string;
  stateDir?: string;
  sessionTtlMs?: number;
}): Promise<RunningInbox> {
  const stateDir = o.stateDir ?? inboxStateDir(o.approversFile);
  const identities = loadIdentities({ approversFile: o.approversFile, agentsFile: o.agentsFile });
  const tasks = createDefaultRegistry()
    .tasks()
    .map((t) => t.name)
    .sort();
  // The origin names the port, so a free port is found first when asked for port 0.
  let port = o.port ?? 8235;
  if (port === 0) port = await freePort();
  const origin = o.origin ?? `http://localhost:${port}`;
  const app = createInboxServer({
    client: o.client,
    identities,
    approversFile: o.approversFile,
    invites: invitesIn(stateDir),
    countersFile: join(stateDir, 'passkey-counters.json'),
    origin,
    tasks,
    sessionTtlMs: o.sessionTtlMs,
  });
  await app.listen({ host: o.host ?? '127.0.0.1', port });
  return { url: origin, close: () => app.close() };
}
