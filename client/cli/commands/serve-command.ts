import { startInbox } from '../../../inbox/start-inbox';
import { CliError, airlock, useProfile } from '../cli-context';
import { identityFiles } from './identity-files';

/** What `airlock serve` was asked for. */
export interface ServeOptions {
  host: string;
  port?: string;
  origin?: string;
  approvers?: string;
  agents?: string;
}

/** `airlock serve`: the approval inbox, until SIGTERM or SIGINT. */
export async function serveCommand(o: ServeOptions): Promise<void> {
  useProfile();
  // Passkeys are bound to the origin: the port approvers open and the port listened on go together, unless an
  // origin is given (a TLS proxy in front).
  const configured = process.env.AIRLOCK_INBOX_URL ? new URL(process.env.AIRLOCK_INBOX_URL) : undefined;
  const port = Number(o.port ?? (configured?.port || 8235));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${o.port} is not a port.`);
  const origin = o.origin ?? (configured && Number(configured.port) === port ? configured.origin : undefined);
  const inbox = await startInbox({ client: await airlock(), ...identityFiles(o), host: o.host, port, origin });
  process.stdout.write(`airlock inbox at ${inbox.url}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()).once('SIGINT', () => resolve()));
  await inbox.close();
}
