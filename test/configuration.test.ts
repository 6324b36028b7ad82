import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/dev-config';
import { freePort } from '../stack/free-port';
import { runAirlock } from './support/cli';

// Production configuration has no development defaults: what is missing is named, and nothing quietly talks to moto.
jest.setTimeout(60_000);

type Run = { code: number; out: string };
const run = (args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> =>
  new Promise((resolve) =>
    execFile(process.execPath, args, { env, cwd, timeout: 45_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
    ),
  );

/** The environment of a process started with no Airlock, Temporal or AWS configuration at all. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AIRLOCK_|TEMPORAL_|AWS_)/.test(k)) env[k] = v;
  return { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
}

test('a worker started without configuration names every missing setting and does not start', async () => {
  // A listener where the local stack's moto would be: the worker must not knock.
  let knocked = 0;
  const moto = createServer((socket) => {
    knocked++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => moto.listen(5055, '127.0.0.1', resolve).once('error', () => resolve()));
  try {
    const result = await run(
      [require.resolve('tsx/cli'), join(REPO_ROOT, 'workers', 'main.ts')],
      bareEnv(),
      mkdtempSync(join(tmpdir(), 'airlock-cfg-')),
    );
    expect(result.code).toBe(1);
    for (const name of [
      'TEMPORAL_ADDRESS',
      'AWS_REGION',
      'AIRLOCK_AWS_ACCOUNT_ID',
      'AIRLOCK_POLICIES_DIR',
      'AIRLOCK_APPROVERS_FILE',
      'AIRLOCK_AGENTS_FILE',
      'AIRLOCK_AUDIT_LOG',
      'AIRLOCK_CODEC_KEY_FILE',
    ]) {
      expect([name, result.out.includes(name)]).toEqual([name, true]);
    }
    expect(result.out).toContain('The worker is not configured');
    expect(result.out).not.toMatch(/polling/);
    expect(knocked).toBe(0);
  } finally {
    moto.close();
  }
});

test('the CLI outside a running local stack says so and how to start it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cfg-'));
  const result = await runAirlock(['pending'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 });
  expect(result.code).toBe(1);
  expect(result.out).toContain('no local stack is running in this folder');
  expect(result.out).toContain('npm start');
  expect(result.out).not.toContain('No payload encryption keys');
});

test('the CLI with the local stack’s profile but no stack answering says the stack stopped; a profile that sets anything else is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cfg-'));
  mkdirSync(join(dir, '.airlock'));
  const keyFile = join(dir, '.airlock', 'codec-keys.json');
  writeFileSync(keyFile, JSON.stringify({ current: 'k1', keys: { k1: Buffer.alloc(32, 7).toString('base64') } }));
  const port = await freePort(); // nobody listens
  const profile = join(dir, '.airlock', 'local-stack.env');
  writeFileSync(
    profile,
    `TEMPORAL_ADDRESS=127.0.0.1:${port}\nTEMPORAL_NAMESPACE=default\nAIRLOCK_CODEC_KEY_FILE=${keyFile}\n`,
    {
      mode: 0o600,
    },
  );
  const down = await runAirlock(['pending'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 });
  expect(down.code).toBe(1);
  expect(down.out).toContain(`cannot reach Temporal at 127.0.0.1:${port}`);
  expect(down.out).toContain('has `npm start` stopped?');
  // A profile with anything but client settings is refused, not half-read.
  writeFileSync(profile, 'NODE_OPTIONS=--require=/tmp/evil.js\n');
  const hostile = await runAirlock(['pending'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 });
  expect(hostile.code).toBe(1);
  expect(hostile.out).toContain('is not a setting of the local stack');
  // A profile others can write, or one that came with a checkout (git keeps no 0600), is not read at all.
  chmodSync(profile, 0o644);
  writeFileSync(profile, `TEMPORAL_ADDRESS=127.0.0.1:${port}\n`);
  const foreign = await runAirlock(['pending'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 });
  expect(foreign.code).toBe(1);
  expect(foreign.out).toContain('open to others (mode 644)');
  expect(foreign.out).not.toContain('cannot reach');
  // Nor is one that names a Temporal off this machine, or that is a link to a file elsewhere.
  rmSync(profile);
  writeFileSync(profile, `TEMPORAL_ADDRESS=temporal.attacker.example:7233\nAIRLOCK_CODEC_KEY_FILE=${keyFile}\n`, {
    mode: 0o600,
  });
  const remote = await runAirlock(['pending'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 });
  expect([remote.code, remote.out]).toEqual([1, expect.stringContaining('which is not on this machine')]);
  const elsewhere = join(mkdtempSync(join(tmpdir(), 'airlock-cfg-')), 'profile.env');
  renameSync(profile, elsewhere);
  symlinkSync(elsewhere, profile);
  const linked = await runAirlock(['pending'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 });
  expect([linked.code, linked.out]).toEqual([1, expect.stringContaining('cannot be opened as a plain file (ELOOP)')]);
  // Commands that need no Temporal do not read it at all.
  expect((await runAirlock(['tasks'], { env: bareEnv(), cwd: dir, timeoutMs: 45_000 })).code).toBe(0);
});
