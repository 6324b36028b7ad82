/**
 * `npm run bench`: latency (p50/p95) and throughput of auto-approved `crm.add_note_to_customer` actions through the
 * whole Airlock workflow (validate, Cedar policy, read-only plan session, execute session, Secrets Manager, CRM call),
 * and, in the same run against the same servers, of a bare workflow with one activity making the same HTTP call.
 *
 * Options (environment): BENCH_ACTIONS (default 200), BENCH_CONCURRENCY (default 10), BENCH_WARMUP (default 20).
 * A benchmark, not a test: it prints numbers and asserts nothing but that every action succeeded.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { AirlockClient } from '../client/airlock-client';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';
import { startEphemeralStack } from '../stack/ephemeral-stack';
import { startDemoCrm } from '../stack/demo-crm/demo-crm-server';
import { createAirlockWorker } from '../workers/create-worker';
import { createBaselineActivities } from './baseline-activities';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { buildIdentities } from '../config/identities';
import { publicKeyText } from '../crypto/signing-keys';

const ACTIONS = Number(process.env.BENCH_ACTIONS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);

interface Stats {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  throughput: number;
}

async function measure(n: number, concurrency: number, one: (i: number) => Promise<void>): Promise<Stats> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await one(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { n, p50: pct(50), p95: pct(95), mean: latencies.reduce((a, b) => a + b, 0) / n, throughput: n / wall };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cfg = loadDevConfig();
  const stack = await startEphemeralStack();
  const crm = await startDemoCrm({
    token: stack.crmToken,
    readToken: stack.crmReadToken,
    customers: cfg.demoCrm.customers,
  });
  const native = await NativeConnection.connect({ address: stack.address });
  const connection = await Connection.connect({ address: stack.address });
  // Airlock encrypts every payload; the bare baseline does not.
  const codecKeys = parseCodecKeys(newCodecKeyFile(), 'bench');
  const client = new Client({ connection, namespace: stack.namespace });
  const airlockTemporal = new Client({
    connection,
    namespace: stack.namespace,
    dataConverter: airlockDataConverter(codecKeys),
  });
  const airlockQueue = `bench-airlock-${randomUUID()}`;
  // Auto-approved actions only: one agent with its key, no people.
  const { privateKey: agentKey, publicKey } = generateKeyPairSync('ed25519');
  const benchIdentities = buildIdentities(
    [],
    [{ name: 'support-bot', publicKey: publicKeyText(publicKey), owners: ['dave'] }],
  );
  const bareQueue = `bench-bare-${randomUUID()}`;

  const airlockWorker = await createAirlockWorker({
    connection: native,
    namespace: stack.namespace,
    taskQueue: airlockQueue,
    aws: { region: cfg.moto.region, endpoint: stack.moto.endpoint, accountId: cfg.moto.accountId },
    endpoints: { 'demo-crm': crm.url },
    policiesDir: join(REPO_ROOT, cfg.worker.policiesDir),
    identities: benchIdentities,
    codecKeys,
    auditLogPath: join(mkdtempSync(join(tmpdir(), 'airlock-bench-')), 'audit.jsonl'),
    awsCredentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const bareWorker = await Worker.create({
    connection: native,
    namespace: stack.namespace,
    taskQueue: bareQueue,
    workflowsPath: require.resolve('./baseline-workflows'),
    activities: createBaselineActivities(crm.url, stack.crmToken),
  });
  const airlock = new AirlockClient(airlockTemporal, { taskQueue: airlockQueue, agentKey: () => agentKey });

  const runAirlock = async (i: number) => {
    const { id } = await airlock.propose({
      task: 'crm.add_note_to_customer',
      input: { customerId: 'C-1001', note: `bench ${i}` },
      agent: 'support-bot',
      user: 'alice',
    });
    const state = await airlock.result(id);
    if (state.status !== 'succeeded') throw new Error(`action ${id} ended ${state.status}: ${state.error?.message}`);
  };
  const runBare = async (i: number) => {
    await client.workflow.execute('bareNoteWorkflow', {
      taskQueue: bareQueue,
      workflowId: `bare-${randomUUID()}`,
      args: ['C-1002', `bare ${i}`, randomUUID()],
    });
  };

  const results = await Promise.all([
    airlockWorker.runUntil(async () =>
      bareWorker.runUntil(async () => {
        await measure(WARMUP, CONCURRENCY, runAirlock);
        await measure(WARMUP, CONCURRENCY, runBare);
        // Interleave the two so neither gets a warmer machine.
        const bare1 = await measure(ACTIONS / 2, CONCURRENCY, runBare);
        const airlock1 = await measure(ACTIONS / 2, CONCURRENCY, runAirlock);
        const airlock2 = await measure(ACTIONS / 2, CONCURRENCY, runAirlock);
        const bare2 = await measure(ACTIONS / 2, CONCURRENCY, runBare);
        return { airlock: [airlock1, airlock2], bare: [bare1, bare2] };
      }),
    ),
  ]);
  const { airlock: a, bare: b } = results[0];
  const merge = (xs: Stats[]): Stats => ({
    n: xs.reduce((s, x) => s + x.n, 0),
    p50: xs.reduce((s, x) => s + x.p50, 0) / xs.length,
    p95: Math.max(...xs.map((x) => x.p95)),
    mean: xs.reduce((s, x) => s + x.mean * x.n, 0) / xs.reduce((s, x) => s + x.n, 0),
    throughput: xs.reduce((s, x) => s + x.throughput, 0) / xs.length,
  });
  const A = merge(a);
  const B = merge(b);
  const row = (name: string, s: Stats) =>
    `${name.padEnd(34)} ${String(s.n).padStart(5)} ${s.p50.toFixed(1).padStart(9)} ${s.p95.toFixed(1).padStart(9)} ${s.mean.toFixed(1).padStart(9)} ${s.throughput.toFixed(1).padStart(10)}`;
  const report = [
    `Airlock benchmark — ${new Date().toISOString()} — ${ACTIONS} actions each, concurrency ${CONCURRENCY}, warmup ${WARMUP}`,
    `${'workload'.padEnd(34)} ${'n'.padStart(5)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'mean ms'.padStart(9)} ${'actions/s'.padStart(10)}`,
    row('airlock crm.add_note_to_customer', A),
    row('bare workflow + 1 activity', B),
    `ratio airlock/bare: p50 ×${(A.p50 / B.p50).toFixed(2)}, p95 ×${(A.p95 / B.p95).toFixed(2)}, throughput ×${(A.throughput / B.throughput).toFixed(2)}`,
    `(p50 is the mean of two interleaved halves' medians; p95 the larger of the two.)`,
  ].join('\n');
  console.log(`\n${report}\n`);
  const dir = join(REPO_ROOT, '.airlock', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'latest.json'),
    JSON.stringify({ airlock: A, bare: B, actions: ACTIONS, concurrency: CONCURRENCY }, null, 2),
  );

  await native.close();
  await connection.close();
  await crm.close();
  await stack.stop();
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
