/**
 * `npm run bench:cli`: how long the `airlock` command takes, as a person runs it: `airlock --help`, `airlock tasks` and
 * `airlock pending` (against a stack with a handful of actions awaiting approval), each run N times as a process of
 * its own, from spawn to exit (targets: --help under 300 ms, pending under 600 ms). Then where the time went: a bare
 * `node -e 0` for Node's own start, and a few more runs of each command with every module load timed: Node's
 * bootstrap, module loading by package, and the rest (the command's own work: for `pending`, connecting to Temporal,
 * listing, asking the worker for each row's plan, waiting).
 *
 * The stack is the benchmark's own: a Temporal dev server and moto (startEphemeralStack), the demo CRM, and a worker
 * in this process on the production task queue (the CLI's), started from the built workflow bundle. The command run
 * is bin/airlock.js, which runs the build only when it is newer than the sources: the benchmark refuses a stale build
 * (it would time tsx instead), and `npm run bench:cli` builds first.
 *
 * Options (environment): BENCH_CLI_RUNS (default 20), BENCH_CLI_PENDING (default 5), BENCH_CLI_TIMED (default 5, the runs with loads timed).
 * Prints the figures and writes .airlock/bench/cli.json; asserts only that each command exits 0 and that `pending`
 * lists the waiting actions.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { AirlockClient } from '../client/airlock-client';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { loadIdentities } from '../config/identities';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { loadSigningKey } from '../crypto/signing-keys';
import { builtWorkerEntry } from '../stack/built-worker';
import { startDemoCrm } from '../stack/demo-crm/demo-crm-server';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';
import { startEphemeralStack } from '../stack/ephemeral-stack';
import { seedIdentities } from '../stack/seed-identities';
import { createAirlockWorker } from '../workers/create-worker';
import { percentiles } from './stages';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);
const PENDING = Number(process.env.BENCH_CLI_PENDING ?? 5);
const PROFILES = Number(process.env.BENCH_CLI_TIMED ?? 5);
const BIN = join(REPO_ROOT, 'bin', 'airlock.js');

/** One run of a process: its wall time (spawn to exit), exit code and output. */
interface Run {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function runProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

/**
 * Run with `node -e` before the command (process.argv as if it were run directly): times every module load, and at
 * exit prints one line, `AIRLOCK_CLI_LOAD <json>`, to stderr: the milliseconds from the process's start to its exit,
 * Node's own bootstrap, and the self time of the loads by package (the package's own files compiled and run, what
 * they load themselves counted to that); Airlock's own modules are "airlock".
 */
const LOAD_TIMING = `
const Module = require('node:module');
const load = Module._load;
const children = [];
const self = {};
const place = (file) => {
  const pkg = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file);
  if (pkg) return pkg[1];
  if (file.startsWith('node:') || !file.includes('/')) return 'node built-ins';
  return 'airlock';
};
Module._load = function (request, parent, isMain) {
  const started = performance.now();
  children.push(0);
  try {
    return load.apply(this, arguments);
  } finally {
    const total = performance.now() - started;
    const inner = children.pop();
    if (children.length) children[children.length - 1] += total;
    let file = request;
    try { file = Module._resolveFilename(request, parent, isMain); } catch {}
    const key = place(file);
    self[key] = (self[key] || 0) + total - inner;
  }
};
process.on('exit', () => {
  process.stderr.write('AIRLOCK_CLI_LOAD ' + JSON.stringify({ inProcessMs: performance.now(),
    bootstrapMs: performance.nodeTiming.bootstrapComplete, loads: self }) + '\\n');
});
process.argv = [process.execPath, process.env.AIRLOCK_CLI_BIN, ...process.argv.slice(1)];
require(process.env.AIRLOCK_CLI_BIN);
`;

/** What one timed run says of itself. */
interface LoadTiming {
  inProcessMs: number;
  bootstrapMs: number;
  loads: Record<string, number>;
}

/**
 * Runs `args` PROFILES times with module loads timed; returns medians: wall time, time inside the process, Node's
 * bootstrap, all module loading and the packages that take most of it, and what is left (for `pending`: connecting,
 * asking Temporal and the worker, and waiting for them).
 */
async function whereTimeWent(args: string[], env: NodeJS.ProcessEnv) {
  const runs: (LoadTiming & { wallMs: number })[] = [];
  for (let i = 0; i < PROFILES; i++) {
    const r = await runProcess(['-e', LOAD_TIMING, '--', ...args], { ...env, AIRLOCK_CLI_BIN: BIN });
    const line = r.stderr.split('\n').find((l) => l.startsWith('AIRLOCK_CLI_LOAD '));
    if (r.code !== 0 || !line) throw new Error(`airlock ${args.join(' ')} (timed) exited ${r.code}: ${r.stderr}`);
    runs.push({ ...(JSON.parse(line.slice('AIRLOCK_CLI_LOAD '.length)) as LoadTiming), wallMs: r.ms });
  }
  const median = (xs: number[]) => Math.round(percentiles(xs).p50 * 10) / 10;
  const loading = runs.map((r) => Object.values(r.loads).reduce((a, b) => a + b, 0));
  const packages = [...new Set(runs.flatMap((r) => Object.keys(r.loads)))]
    .map((name) => ({ name, ms: median(runs.map((r) => r.loads[name] ?? 0)) }))
    .sort((a, b) => b.ms - a.ms);
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    inProcessMs: median(runs.map((r) => r.inProcessMs)),
    bootstrapMs: median(runs.map((r) => r.bootstrapMs)),
    moduleLoadingMs: median(loading),
    restMs: median(runs.map((r, i) => r.inProcessMs - r.bootstrapMs - loading[i])),
    packages,
  };
}

async function main(): Promise<void> {
  // The command must run the build, not the sources through tsx: the same freshness rule as bin/airlock.js's.
  builtWorkerEntry();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cfg = loadDevConfig();
  const stack = await startEphemeralStack();
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-cli-bench-'));
  const crm = await startDemoCrm({
    token: stack.crmToken,
    readToken: stack.crmReadToken,
    customers: cfg.demoCrm.customers,
  });
  const native = await NativeConnection.connect({ address: stack.address });
  const connection = await Connection.connect({ address: stack.address });
  try {
    const codecKeysJson = newCodecKeyFile();
    const codecKeys = parseCodecKeys(codecKeysJson, 'bench');
    const keysDir = join(stateDir, 'keys');
    const files = { approversFile: join(stateDir, 'approvers.json'), agentsFile: join(stateDir, 'agents.json') };
    seedIdentities(keysDir, files, cfg.approvers, [{ name: 'support-bot', owners: ['dave'] }]);
    const worker = await createAirlockWorker({
      connection: native,
      namespace: stack.namespace,
      taskQueue: AIRLOCK_TASK_QUEUE,
      aws: { region: cfg.moto.region, endpoint: stack.moto.endpoint, accountId: cfg.moto.accountId },
      endpoints: { 'demo-crm': crm.url, stripe: stack.stripe.url },
      policiesDir: join(REPO_ROOT, cfg.worker.policiesDir),
      identities: loadIdentities(files),
      codecKeys,
      auditLogPath: join(stateDir, 'audit.jsonl'),
      awsCredentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      workflowBundle: { codePath: join(REPO_ROOT, 'dist', 'workflow-bundle.js') },
    });
    const running = worker.run();
    try {
      // A handful of actions awaiting approval, as `airlock pending` shows them.
      const client = new Client({
        connection,
        namespace: stack.namespace,
        dataConverter: airlockDataConverter(codecKeys),
      });
      const airlock = new AirlockClient(client, { agentKey: (agent) => loadSigningKey(agent, keysDir) });
      const ids: string[] = [];
      for (let i = 0; i < PENDING; i++) {
        const { id } = await airlock.propose({
          task: 'crm.update_customer',
          // A change of tier needs a person's approval under the development policies.
          input: {
            customerId: 'C-1003',
            changes: { phone: `+44 20 7946 ${String(1000 + i).slice(-4)}`, tier: 'gold' },
          },
          agent: 'support-bot',
          user: 'alice',
        });
        const status = await airlock.waitFor(id, ['awaiting_approval'], { intervalMs: 50 });
        if (status !== 'awaiting_approval') throw new Error(`action ${id} is ${status}, not awaiting approval`);
        ids.push(id);
      }

      const env: NodeJS.ProcessEnv = {
        ...process.env,
        TEMPORAL_ADDRESS: stack.address,
        TEMPORAL_NAMESPACE: stack.namespace,
        AIRLOCK_CODEC_KEYS: codecKeysJson,
        AIRLOCK_KEYS_DIR: keysDir,
        NO_COLOR: '1',
        // The command's compile cache (bin/airlock.js) in a folder of the benchmark's own, empty at first.
        XDG_CACHE_HOME: join(stateDir, 'cache'),
      };
      delete env.NODE_COMPILE_CACHE;
      delete env.NODE_DISABLE_COMPILE_CACHE;
      const commands: { name: string; args: string[]; targetMs?: number }[] = [
        { name: '--help', args: ['--help'], targetMs: 300 },
        { name: 'tasks', args: ['tasks'] },
        { name: 'pending', args: ['pending'], targetMs: 600 },
      ];
      const bare: number[] = [];
      for (let i = 0; i < RUNS; i++) bare.push((await runProcess(['-e', '0'], env)).ms);
      const nodeStart = percentiles(bare);
      const results = [];
      for (const c of commands) {
        // A first run: nothing compiled yet (an empty compile cache of its own), as after an install or a build.
        const first: number[] = [];
        for (let i = 0; i < 3; i++) {
          const cold = { ...env, XDG_CACHE_HOME: mkdtempSync(join(stateDir, 'cold-')) };
          first.push((await runProcess([BIN, ...c.args], cold)).ms);
        }
        // Two runs more: the compile cache and the page cache then hold what the command loads, as for a person's
        // second command.
        for (let i = 0; i < 2; i++) await runProcess([BIN, ...c.args], env);
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await runProcess([BIN, ...c.args], env);
          if (r.code !== 0) throw new Error(`airlock ${c.args.join(' ')} exited ${r.code}: ${r.stderr}`);
          if (c.name === 'pending') {
            const missing = ids.filter((id) => !r.stdout.includes(id));
            if (missing.length) throw new Error(`airlock pending did not list ${missing.join(', ')}:\n${r.stdout}`);
          }
          times.push(r.ms);
        }
        const p = percentiles(times);
        results.push({
          command: `airlock ${c.name}`,
          runs: RUNS,
          p50: Math.round(p.p50),
          p95: Math.round(p.p95),
          firstRunMs: Math.round(percentiles(first).p50),
          ...(c.targetMs ? { targetMs: c.targetMs, met: p.p95 < c.targetMs } : {}),
          where: await whereTimeWent(c.args, env),
        });
      }

      const round = (x: number) => Math.round(x);
      console.log(`
The airlock command, ${RUNS} runs each as its own process, spawn to exit (${PENDING} actions awaiting approval):
  node -e 0 (Node's own start):  p50 ${round(nodeStart.p50)} ms, p95 ${round(nodeStart.p95)} ms`);
      for (const r of results) {
        const target = r.targetMs ? `  (target < ${r.targetMs} ms: ${r.met ? 'met' : 'NOT met'})` : '';
        console.log(
          `  ${r.command.padEnd(16)} p50 ${r.p50} ms, p95 ${r.p95} ms${target}; first run, nothing compiled yet: ${r.firstRunMs} ms`,
        );
      }
      for (const r of results) {
        const w = r.where;
        console.log(
          `\nwhere ${r.command} spends its time (median of ${PROFILES} runs with module loads timed, ${w.wallMs} ms each):\n` +
            `  ${w.bootstrapMs} ms Node's bootstrap, ${w.moduleLoadingMs} ms loading modules, ${w.restMs} ms the rest` +
            ` (running the command: connecting, asking Temporal and the worker, waiting), ${round(w.wallMs - w.inProcessMs)} ms` +
            ` outside the process (spawn, exit)\n  loading by package: ` +
            w.packages
              .slice(0, 8)
              .map((p) => `${p.name} ${p.ms} ms`)
              .join(', '),
        );
      }
      const dir = join(REPO_ROOT, '.airlock', 'bench');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'cli.json'),
        `${JSON.stringify({ runs: RUNS, pending: PENDING, nodeStart: { p50: round(nodeStart.p50), p95: round(nodeStart.p95) }, commands: results }, null, 2)}\n`,
      );
    } finally {
      worker.shutdown();
      await running;
    }
  } finally {
    await native.close();
    await connection.close();
    await crm.close();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
