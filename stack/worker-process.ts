import { spawn, type ChildProcess } from 'node:child_process';
import { builtWorkerEntry } from './built-worker';

/**
 * Node options a worker process runs with (measured in README, *Load*): a young generation of 1 MB semi-spaces (Node's
 * default of 16 MB each held ~50 MB idle and ~400 MB more after a burst of 2,000 proposals), and V8 tuned for size:
 * otherwise the V8 heaps (the main thread's and the workflow thread's), whose garbage V8 is in no hurry to collect
 * with gigabytes allowed, grew by ~130 MB over 3,000 waiting actions. It costs a third of a burst's throughput (12
 * against 17 actions a second here), spent collecting. No hard heap cap: `--max-old-space-size=128` kept as little,
 * but would kill a worker whose activities briefly need more.
 */
export const WORKER_NODE_OPTIONS = ['--max-semi-space-size=1', '--optimize-for-size'];

/**
 * Environment a worker process runs with unless set otherwise: glibc's malloc keeps an arena per thread (Temporal's
 * core runs many), and freed memory stays in them; two arenas cut the RSS after a burst by a third.
 */
export const WORKER_ENV: Record<string, string> = { MALLOC_ARENA_MAX: '2' };

/** The line the worker prints once it polls its task queue. */
export const WORKER_READY_LINE = 'airlock worker: polling';

/** An Airlock worker running as its own process (the built `workers/main.ts`), configured by its environment alone. */
export interface WorkerProcess {
  process: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal) when the process has gone. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** Sends `signal` (SIGKILL by default: no shutdown, no goodbye to Temporal) and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the built worker (`dist/workers/main.js`; see {@link builtWorkerEntry}) in a new Node process with `env` (on
 * top of this process's), and resolves once it polls (90 s at most). Fails at once if it exits first.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  opts: { log?: (text: string) => void; execArgv?: string[] } = {},
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    // JavaScript run by Node itself: the process killed is the worker (tsx's CLI ran it in a child of its own, which a
    // SIGKILL of the CLI left running), and no compiler sits in its memory.
    [...WORKER_NODE_OPTIONS, ...(opts.execArgv ?? []), builtWorkerEntry()],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...WORKER_ENV, ...process.env, ...env } },
  );
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the worker did not poll within 90 s:\n${output.slice(-2000)}`)),
      90_000,
    );
    child.stdout?.on('data', (c: Buffer) => {
      const text = c.toString();
      output += text;
      opts.log?.(text);
      if (output.includes(WORKER_READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
      opts.log?.(c.toString());
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited (${String(how)}) before it polled:\n${output.slice(-2000)}`));
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  try {
    await ready;
  } catch (err) {
    await kill();
    throw err;
  }
  return { process: child, pid: child.pid as number, exited, kill };
}
