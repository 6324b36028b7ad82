import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../stack/dev-config';
import { testEnv } from './test-env';

/** The `airlock` command of this checkout. */
export const AIRLOCK_BIN = join(REPO_ROOT, 'bin', 'airlock.js');

/** What one run of the command printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together. */
  out: string;
}

/** The environment of a CLI on the suite's Temporal, with Airlock's payload keys and the private keys in `keysDir`. */
export function suiteCliEnv(keysDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: testEnv('temporalAddress'),
    TEMPORAL_NAMESPACE: testEnv('namespace'),
    AIRLOCK_CODEC_KEYS: testEnv('codecKeys'),
    AIRLOCK_KEYS_DIR: keysDir,
    NO_COLOR: '1',
    ...extra,
  };
}

/** Runs `airlock <args>` as its own process, as a person would (the process environment unless `env` is given). */
export function runAirlock(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [AIRLOCK_BIN, ...args],
      { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr, out: stdout + stderr }),
    ),
  );
}
