import { spawn, type ChildProcess } from 'node:child_process';

/** A server the stack runs as a child process. */
export interface ChildService {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `command` and waits until `ready()` says it answers (30 s at most). Used for moto and stripe-mock, whose
 * readiness is an HTTP answer, not a log line.
 */
export async function startChildService(opts: {
  name: string;
  command: string;
  args: string[];
  url: string;
  ready: () => Promise<boolean>;
  log?: (line: string) => void;
}): Promise<ChildService> {
  const child = spawn(opts.command, opts.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = (chunk: Buffer) => opts.log?.(chunk.toString());
  child.stdout?.on('data', lines);
  child.stderr?.on('data', lines);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `${opts.name} exited with code ${child.exitCode} before it answered on ${opts.url}; is the port free?`,
      );
    if (await opts.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`${opts.name} did not answer on ${opts.url} within 30 s.`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: opts.url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
