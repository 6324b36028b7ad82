import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../common/errors';

/**
 * The local stack's profile: how clients reach the stack `npm start` runs (its Temporal address and namespace, its
 * payload key file, its audit log), written by the stack while it runs and removed when it stops. The CLI reads it
 * from the folder it runs in, for whatever its environment leaves unset; nothing else does. Production
 * configuration never falls back to it.
 */
export const LOCAL_STACK_PROFILE = join('.airlock', 'local-stack.env');

/** The variables a profile may set: client settings only, never a secret's value. */
const PROFILE_KEYS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'AIRLOCK_CODEC_KEY_FILE',
  'AIRLOCK_AUDIT_LOG',
  'AIRLOCK_APPROVERS_FILE',
  'AIRLOCK_AGENTS_FILE',
  'AIRLOCK_POLICIES_DIR',
  'AIRLOCK_INBOX_URL',
] as const;

/** One profile's settings. */
export type LocalStackProfile = Partial<Record<(typeof PROFILE_KEYS)[number], string>>;

/** Writes the profile into the stack's state folder; returns its path. */
export function writeLocalStackProfile(stateDir: string, values: LocalStackProfile): string {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'local-stack.env');
  const lines = PROFILE_KEYS.filter((k) => values[k] !== undefined).map((k) => `${k}=${values[k]}`);
  rmSync(file, { force: true }); // a file left by another run keeps its mode; this one must be 0600
  writeFileSync(
    file,
    `# Written by npm start while the local stack runs; removed when it stops.\n${lines.join('\n')}\n`,
    { mode: 0o600 },
  );
  return file;
}

/** The local stack listens on this machine only: a profile naming any other Temporal is not the stack's. */
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/;

/**
 * Reads a profile: `KEY=value` lines of known keys, a Temporal on this machine; anything else is refused. So is a
 * file (opened once, never through a symbolic link) that is not the current user's own with mode 0600 in a folder
 * only they may write, as `npm start` leaves it: a profile that came with a checkout or an archive could point the
 * CLI at someone else's Temporal, to show an approver one thing while they sign another.
 */
export function readLocalStackProfile(file: string): LocalStackProfile {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const refuse = (why: string) =>
    new ConfigError(
      `${file} ${why}; \`npm start\` writes its profile 0600 in a folder of yours. A profile from anywhere else could point ` +
        "airlock at someone else's Temporal: delete it (npm start writes a new one), or configure airlock through its environment.",
    );
  const folder = statSync(dirname(file));
  if ((uid !== undefined && folder.uid !== uid) || (folder.mode & 0o022) !== 0)
    throw refuse('is in a folder others may write');
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw refuse(`cannot be opened as a plain file (${(err as NodeJS.ErrnoException).code})`);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse('is not a plain file');
    if (uid !== undefined && st.uid !== uid) throw refuse('is not yours');
    if ((st.mode & 0o077) !== 0) throw refuse(`is open to others (mode ${(st.mode & 0o777).toString(8)})`);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const out: LocalStackProfile = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq) as (typeof PROFILE_KEYS)[number];
    if (eq < 1 || !PROFILE_KEYS.includes(key))
      throw new ConfigError(
        `${file}, line ${i + 1}: "${line.slice(0, 40)}" is not a setting of the local stack's profile; delete the file and restart the stack.`,
      );
    out[key] = line.slice(eq + 1);
  }
  if (out.TEMPORAL_ADDRESS !== undefined && !LOOPBACK.test(out.TEMPORAL_ADDRESS)) {
    throw refuse(`names a Temporal at ${out.TEMPORAL_ADDRESS.slice(0, 80)}, which is not on this machine`);
  }
  return out;
}

/**
 * Where a client finds the local stack's profile: `AIRLOCK_ENV_FILE` if set (it must exist), else
 * `.airlock/local-stack.env` under `cwd` if the stack is running there.
 */
export function findLocalStackProfile(env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (env.AIRLOCK_ENV_FILE) {
    if (!existsSync(env.AIRLOCK_ENV_FILE))
      throw new ConfigError(
        `AIRLOCK_ENV_FILE names ${env.AIRLOCK_ENV_FILE}, which does not exist. Is the local stack running (\`npm start\`)?`,
      );
    return resolve(env.AIRLOCK_ENV_FILE);
  }
  const file = resolve(cwd, LOCAL_STACK_PROFILE);
  return existsSync(file) ? file : undefined;
}
