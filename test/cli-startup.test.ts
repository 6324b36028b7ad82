/**
 * The command loads only what the command run needs (client/cli/lazy-modules.ts): `--help` no Temporal, task catalog
 * or SDK; `tasks` the catalog but no Temporal client; `pending` the Temporal client but not the worker, Cedar, the
 * inbox's server or the AWS and MCP SDKs. Which modules were loaded is read from the process itself, not timed: the
 * time is the benchmark's (`npm run bench:cli`).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { AIRLOCK_BIN } from './support/cli';

const dir = mkdtempSync(join(tmpdir(), 'airlock-startup-'));
const hook = join(dir, 'loaded.js');
// Prints every module file loaded, one a line, to the file named by AIRLOCK_TEST_LOADED, when the process exits.
writeFileSync(
  hook,
  "process.on('exit', () => require('node:fs').writeFileSync(process.env.AIRLOCK_TEST_LOADED, Object.keys(require.cache).join('\\n')));\n",
);

/** The module files `airlock <args>` loaded, run in an empty folder with nothing configured. */
function loadedBy(...args: string[]): Promise<{ code: number; loaded: string[] }> {
  return loadedWith({}, ...args);
}

/** The same, with `extra` in the environment. */
function loadedWith(extra: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; loaded: string[] }> {
  const out = join(dir, `${args.join('-') || 'none'}-${Object.keys(extra).length}.txt`);
  const env: NodeJS.ProcessEnv = { ...process.env, AIRLOCK_TEST_LOADED: out, XDG_CACHE_HOME: join(dir, 'cache') };
  for (const name of Object.keys(env)) if (/^(TEMPORAL_|AIRLOCK_(?!TEST_LOADED))/.test(name)) delete env[name];
  Object.assign(env, extra);
  return new Promise((resolve) =>
    execFile(process.execPath, ['-r', hook, AIRLOCK_BIN, ...args], { cwd: dir, env }, (err) =>
      resolve({
        code: err ? Number(err.code ?? 1) : 0,
        loaded: readFileSync(out, 'utf8').split('\n'),
      }),
    ),
  );
}

/** The loaded files under any of `places` (package names, or folders of Airlock's). */
const within = (loaded: string[], places: string[]) =>
  loaded.filter((file) => places.some((p) => file.includes(`/node_modules/${p}/`) || file.includes(`/${p}/`)));

const SDKS = ['@aws-sdk', '@cedar-policy', 'fastify', '@modelcontextprotocol', 'stripe'];

test('--help loads commander and the CLI, no Temporal, task catalog, zod or SDK', async () => {
  const { code, loaded } = await loadedBy('--help');
  expect(code).toBe(0);
  expect(within(loaded, ['commander'])).not.toEqual([]);
  expect(within(loaded, ['@temporalio', 'zod', 'tasks', ...SDKS])).toEqual([]);
});

test('tasks loads the catalog, and no Temporal client or SDK', async () => {
  const { code, loaded } = await loadedBy('tasks', '--json');
  expect(code).toBe(0);
  expect(within(loaded, ['tasks'])).not.toEqual([]);
  expect(within(loaded, ['@temporalio/client', '@temporalio/worker', '@grpc', ...SDKS])).toEqual([]);
});

test('pending loads the Temporal client and never the worker, Cedar, the inbox or an SDK', async () => {
  // Nothing configured here: it stops at "not configured", after loading what connecting takes.
  const { code, loaded } = await loadedBy('pending');
  expect(code).toBe(1);
  expect(within(loaded, ['@temporalio/client'])).not.toEqual([]);
  expect(within(loaded, ['@temporalio/worker', '@temporalio/core-bridge', 'inbox', ...SDKS])).toEqual([]);
});

test('pending, connecting (to a Temporal that is not there), loads the client but never the worker or an SDK', async () => {
  const keys = JSON.stringify({ current: 'k1', keys: { k1: Buffer.alloc(32, 7).toString('base64') } });
  const { code, loaded } = await loadedWith({ TEMPORAL_ADDRESS: '127.0.0.1:1', AIRLOCK_CODEC_KEYS: keys }, 'pending');
  expect(code).toBe(1);
  // It got as far as the client Airlock connects with.
  expect(loaded.some((file) => /\/client\/airlock-client\.(js|ts)$/.test(file))).toBe(true);
  expect(within(loaded, ['@temporalio/worker', '@temporalio/core-bridge', 'inbox', '@opentelemetry', ...SDKS])).toEqual(
    [],
  );
});
