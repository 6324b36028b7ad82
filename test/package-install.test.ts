/**
 * `npm pack` makes a package that installs and runs like a tool: the built CLI, the worker and the SDK with its type
 * declarations, and nothing of the development stack (tests, benchmarks, tools, local state, keys, TypeScript
 * sources). Packs the checkout's build, installs the tarball into an empty folder from the npm registry (through the
 * npm cache), and runs what was installed. About a minute, most of it `npm install`.
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { builtinModules } from 'node:module';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { defaultCatalog } from '../tasks';
import { builtWorkerEntry } from '../stack/built-worker';
import { REPO_ROOT } from '../stack/dev-config';

jest.setTimeout(240_000);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: ExecFileOptions): Promise<Ran> {
  return new Promise((resolve) =>
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, ...opts, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

const work = mkdtempSync(join(tmpdir(), 'airlock-package-'));
/** npm and node of the Node this test runs on, first on PATH; the compile cache in a folder of the test's own. */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  XDG_CACHE_HOME: join(work, 'cache'),
  NO_COLOR: '1',
};
for (const name of Object.keys(env))
  if (/^(TEMPORAL_|AIRLOCK_)/.test(name) || name.startsWith('npm_')) delete env[name];
const packDir = join(work, 'pack');
const installDir = join(work, 'install');
let files: string[] = [];
let tarball = '';

beforeAll(async () => {
  // The package is the build: refuse one older than the sources (`npm test` builds first; so does `npm pack`).
  builtWorkerEntry();
  for (const dir of [packDir, installDir]) mkdirSync(dir);
  // --ignore-scripts: the build above is the one packed (`prepack` would build again).
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], {
    cwd: REPO_ROOT,
    env,
  });
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  files = info.files.map((f) => f.path);
  tarball = join(packDir, info.filename);
  const installed = await run(
    'npm',
    ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: installDir, env },
  );
  if (installed.code !== 0) throw new Error(`npm install of the tarball failed: ${installed.stderr}`);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the built CLI, worker, SDK with declarations and the policies, and nothing of the dev stack', () => {
  for (const needed of [
    'package.json',
    'bin/airlock.js',
    'scripts/project-node.js',
    'dist/client/cli/main.js',
    'dist/client/index.js',
    'dist/client/index.d.ts',
    'dist/client/airlock-client.d.ts',
    'dist/workers/main.js',
    'dist/workflow-bundle.js',
    'dist/inbox/assets/inbox.js',
    'dist/inbox/assets/inbox.css',
    'dist/build-info.json',
    'policies/policies.cedar',
    'policies/airlock.cedarschema',
  ])
    expect(files).toContain(needed);
  const forbidden = files.filter(
    (f) =>
      /^(test|bench|scripts|\.tools|\.airlock|\.ci|node_modules|docs|stack)\//.test(f) &&
      f !== 'scripts/project-node.js',
  );
  // Keys and secrets by kind of file (private keys, env files, payload keys, tokens, identities), and by content.
  const secrets = files.filter((f) =>
    /\.(key|pem|p12|pfx|env)$|(^|\/)\.env|(codec-keys|mcp-tokens|approvers|agents)[^/]*\.json$/i.test(f),
  );
  const sources = files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'));
  // The stack is development only; the inbox's free-port helper is the one module of it the CLI runs.
  const stack = files.filter((f) => f.startsWith('dist/stack/') && !/^dist\/stack\/free-port\.(js|d\.ts)$/.test(f));
  expect({ forbidden, secrets, sources, stack }).toEqual({ forbidden: [], secrets: [], sources: [], stack: [] });
  expect(files.filter((f) => /tsconfig|jest|eslint|\.tsbuildinfo|\.map$/.test(f))).toEqual([]);
  const pkgDir = join(installDir, 'node_modules', 'airlock');
  const privateKeys = files.filter((f) =>
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(readFileSync(join(pkgDir, f), 'utf8')),
  );
  expect(privateKeys).toEqual([]);
});

test('every module the package loads is in it or a dependency it declares', () => {
  const pkgDir = join(installDir, 'node_modules', 'airlock');
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const unresolved: string[] = [];
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.js') ? [path] : [];
    });
  // The workflow bundle is webpack's (its requires are its own), and the inbox's assets run in the browser.
  const modules = walk(join(pkgDir, 'dist')).filter(
    (f) => !f.endsWith('workflow-bundle.js') && !f.includes(`${join('inbox', 'assets')}`),
  );
  for (const file of modules) {
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)) {
      if (spec.startsWith('.')) {
        const target = join(dirname(file), spec);
        if (![target, `${target}.js`, `${target}.json`, join(target, 'index.js')].some((p) => existsSync(p)))
          unresolved.push(`${relative(pkgDir, file)}: ${spec}`);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (!builtins.has(spec) && !builtins.has(name) && !(name in manifest.dependencies))
        unresolved.push(`${relative(pkgDir, file)}: ${spec} (not a dependency)`);
    }
  }
  expect(unresolved).toEqual([]);
  // What the checkout's command needs only for its sources is left out: the installed one runs the build.
  expect(existsSync(join(installDir, 'node_modules', 'tsx'))).toBe(false);
  expect(existsSync(join(installDir, 'node_modules', '@temporalio', 'testing'))).toBe(false);
});

test('the installed airlock starts: --help, tasks, tasks --json, completion, and says what is missing for pending', async () => {
  const airlock = (...args: string[]) =>
    run(join(installDir, 'node_modules', '.bin', 'airlock'), args, { cwd: installDir, env, timeout: 60_000 });
  const help = await airlock('--help');
  expect(help).toMatchObject({ code: 0, stderr: '' });
  expect(help.stdout).toContain('Usage: airlock');
  const names = defaultCatalog().map((t) => t.name);
  const tasks = await airlock('tasks');
  expect(tasks.code).toBe(0);
  for (const name of names) expect(tasks.stdout).toContain(name);
  const json = await airlock('tasks', '--json');
  expect(json.code).toBe(0);
  expect((JSON.parse(json.stdout) as { name: string }[]).map((t) => t.name)).toEqual(names);
  const completion = await airlock('completion', 'bash');
  expect(completion.code).toBe(0);
  expect(completion.stdout).toContain('complete -F _airlock airlock');
  // No Temporal configured in an empty folder: the error says what to do, and no module is missing.
  const pending = await airlock('pending');
  expect(pending.code).toBe(1);
  expect(pending.stderr).toContain('Airlock is not configured here');
});

test('the installed worker loads all of its modules, then asks for its configuration', async () => {
  const worker = await run(
    process.execPath,
    [join(installDir, 'node_modules', 'airlock', 'dist', 'workers', 'main.js')],
    { cwd: installDir, env, timeout: 60_000 },
  );
  expect(worker.code).toBe(1);
  expect(worker.stderr).toMatch(/^airlock worker: /);
  expect(worker.stderr).not.toContain('Cannot find module');
});

test('the SDK loads by the package name, and its declarations type-check a client program', async () => {
  const sdk = await run(
    process.execPath,
    [
      '-e',
      "const a = require('airlock'); console.log(typeof a.AirlockClient.connect, a.toolDefinitions(a.defaultCatalog()).length)",
    ],
    { cwd: installDir, env },
  );
  expect(sdk).toMatchObject({ code: 0, stdout: `function ${defaultCatalog().length}\n` });
  writeFileSync(
    join(installDir, 'program.ts'),
    `import { AirlockClient, defaultCatalog, toolDefinitions, type ActionState, type ActionStatus } from 'airlock';
export async function run(): Promise<ActionStatus> {
  const airlock: AirlockClient = await AirlockClient.connect();
  const tools: { function: { name: string } }[] = toolDefinitions(defaultCatalog());
  const state: ActionState = await airlock.get(tools[0].function.name);
  return state.status;
}
// A wrong use must fail the check, or the declarations say nothing.
// @ts-expect-error: propose takes a proposal, not a number
export const wrong = (a: AirlockClient) => a.propose(42);
`,
  );
  const tsc = await run(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'es2022',
      '--typeRoots',
      join(REPO_ROOT, 'node_modules', '@types'),
      '--types',
      'node',
      'program.ts',
    ],
    { cwd: installDir, env },
  );
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.code).toBe(0);
});
