import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { temporalCliPath } from './tools';

/** A `temporal server start-dev` this process started, backed by a SQLite file so that it can be restarted. */
export interface TemporalServerProcess {
  /** gRPC frontend, host:port. */
  address: string;
  process: ChildProcess;
  /** Stops it (SIGTERM, or SIGKILL: a crash) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a file-backed Temporal dev server and waits until its frontend answers (60 s at most). Started again on the
 * same file and port, it is the same server: whatever ran keeps running.
 */
export async function startTemporalServerProcess(opts: {
  ip: string;
  port: number;
  uiPort?: number;
  namespace: string;
  dbFile: string;
  /** Further `start-dev` flags (dynamic config, SQLite pragmas, the UI's codec endpoint). */
  args?: string[];
  log?: (text: string) => void;
}): Promise<TemporalServerProcess> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    opts.ip,
    '--port',
    String(opts.port),
    ...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']),
    '--namespace',
    opts.namespace,
    '--db-filename',
    opts.dbFile,
    '--log-level',
    'warn',
    ...(opts.args ?? []),
  ];
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => opts.log?.(c.toString()));
  child.stderr?.on('data', (c: Buffer) => opts.log?.(c.toString()));
  const address = `${opts.ip}:${opts.port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  try {
    const connection = await waitForTemporal(address, child);
    await connection.close();
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return { address, process: child, stop };
}

/** Connects to a Temporal frontend as soon as it answers (60 s at most), failing at once if `child` exits. */
export async function waitForTemporal(address: string, child: ChildProcess): Promise<Connection> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the Temporal dev server exited (code ${child.exitCode}); is port ${address} already in use?`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch {
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${address} within 60 s.`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
