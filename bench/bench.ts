/**
 * `npm run bench`: latency (p50/p95) and throughput of auto-approved `crm.add_note_to_customer` actions through the
 * whole Airlock workflow (validate, Cedar policy, read-only plan session, execute session, Secrets Manager, CRM call),
 * and, in the same run against the same servers, of a bare workflow with one activity making the same HTTP call;
 * then where the time went: each stage from the runs' histories, the time in STS, Secrets Manager and the target
 * (as the worker's AWS clients take them, a timing fetch), CPU per action, a Cedar decision, and the path of an
 * approval-needing action after its last approval.
 *
 * Options (environment): BENCH_ACTIONS (default 200), BENCH_CONCURRENCY (default 10), BENCH_WARMUP (default 20),
 * BENCH_APPROVALS (default 20), BENCH_ROUNDS (default 4), BENCH_PROFILE (a directory: the main thread's CPU profile
 * of each workload). A benchmark, not a test: it prints numbers (and writes .airlock/bench/latest.json)
 * and asserts nothing but that every action succeeded.
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
import { createAirlockWorker } from '../workers/create-worker';
import { createBaselineActivities } from './baseline-activities';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { buildIdentities } from '../config/identities';
import { publicKeyText } from '../crypto/signing-keys';
import { loadPolicies } from '../policy/cedar-policy-engine';
import { temporalUsageLedger } from '../activities/usage-ledger';
import { createDefaultRegistry } from '../tasks';
import type { DevConfig } from '../stack/dev-config';
import type { Identities } from '../config/identities';
import { percentiles, runStages, type RunStages } from './stages';
import { startInstruments } from './instruments';
import { createPhaseProfiler } from './cpu-profile';
import { activityTiming, type ActivityTimes } from './activity-timing';
import { findPid, processCpuMs, threadCpuMs } from './process-cpu';

const ACTIONS = Number(process.env.BENCH_ACTIONS ?? 200);
/** The workloads measured: Airlock, the bare workflow, and the bare workflow making Airlock's external calls. */
type Workload = 'airlock' | 'bare' | 'sessions';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const APPROVALS = Number(process.env.BENCH_APPROVALS ?? 20);
/** Rounds the measured actions are split into, each running the three workloads in turn. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

/** Target calls as the timing fetch saw them. */
interface TargetCall {
  method: string;
  ms: number;
}
/** A fetch that times every call. */
const timedFetch =
  (calls: TargetCall[]): typeof fetch =>
  async (input, init) => {
    const t0 = performance.now();
    try {
      return await fetch(input, init);
    } finally {
      calls.push({ method: init?.method ?? 'GET', ms: performance.now() - t0 });
    }
  };

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
  // The demo CRM runs in a process of its own, so that its CPU is not counted as the worker's. The worker reaches moto
  // directly, and tells how long each STS and Secrets Manager call took through its stage observer.
  const instruments = await startInstruments({
    crmToken: stack.crmToken,
    crmReadToken: stack.crmReadToken,
    customers: cfg.demoCrm.customers,
  });
  const [airlockTarget, bareTarget]: [TargetCall[], TargetCall[]] = [[], []];
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
  // …and one approver, for the approval path.
  const { privateKey: bobKey, publicKey: bobPublic } = generateKeyPairSync('ed25519');
  const benchIdentities = buildIdentities(
    [{ name: 'bob', publicKey: publicKeyText(bobPublic), groups: ['approvers'] }],
    [{ name: 'support-bot', publicKey: publicKeyText(publicKey), owners: ['dave'] }],
  );
  const bareQueue = `bench-bare-${randomUUID()}`;
  const timing = activityTiming();

  const airlockWorker = await createAirlockWorker({
    connection: native,
    namespace: stack.namespace,
    taskQueue: airlockQueue,
    aws: { region: cfg.moto.region, endpoint: stack.moto.endpoint, accountId: cfg.moto.accountId },
    endpoints: { 'demo-crm': instruments.crmUrl },
    fetch: timedFetch(airlockTarget),
    policiesDir: join(REPO_ROOT, cfg.worker.policiesDir),
    identities: benchIdentities,
    codecKeys,
    auditLogPath: join(mkdtempSync(join(tmpdir(), 'airlock-bench-')), 'audit.jsonl'),
    awsCredentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    tuning: { interceptors: { activity: [timing.factory] } },
    observe: timing.observe,
  });
  const bareWorker = await Worker.create({
    connection: native,
    namespace: stack.namespace,
    taskQueue: bareQueue,
    workflowsPath: require.resolve('./baseline-workflows'),
    activities: createBaselineActivities(instruments.crmUrl, stack.crmToken, timedFetch(bareTarget), {
      region: cfg.moto.region,
      endpoint: stack.moto.endpoint,
      accountId: cfg.moto.accountId,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    }),
  });
  const airlock = new AirlockClient(airlockTemporal, { taskQueue: airlockQueue, agentKey: () => agentKey });

  const ids = { airlock: [] as string[], bare: [] as string[], sessions: [] as string[], approval: [] as string[] };
  let recording = false;
  const runAirlock = async (i: number) => {
    const { id } = await airlock.propose({
      task: 'crm.add_note_to_customer',
      input: { customerId: 'C-1001', note: `bench ${i}` },
      agent: 'support-bot',
      user: 'alice',
    });
    const state = await airlock.result(id);
    if (state.status !== 'succeeded') throw new Error(`action ${id} ended ${state.status}: ${state.error?.message}`);
    if (recording) ids.airlock.push(id);
  };
  /** Runs one baseline workflow to its end, noting its id while recording. */
  const baseline =
    (workload: 'bare' | 'sessions', workflowType: string, customerId: string) =>
    async (i: number): Promise<void> => {
      const workflowId = `${workload}-${randomUUID()}`;
      await client.workflow.execute(workflowType, {
        taskQueue: bareQueue,
        workflowId,
        args: [customerId, `${workload} ${i}`, randomUUID()],
      });
      if (recording) ids[workload].push(workflowId);
    };
  const runBare = baseline('bare', 'bareNoteWorkflow', 'C-1002');
  // The bare workflow making every external call an Airlock action makes: what is left between it and Airlock is
  // the gate itself.
  const runSessions = baseline('sessions', 'bareSessionsWorkflow', 'C-1004');
  // One approval-needing action at a time: propose, wait for its plan, approve, wait for the end.
  const runApproval = async (i: number) => {
    const { id } = await airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: 'C-1003', changes: { phone: `+44 20 7946 ${String(1000 + i).slice(-4)}`, tier: 'gold' } },
      agent: 'support-bot',
      user: 'alice',
    });
    await airlock.waitFor(id, ['awaiting_approval'], { intervalMs: 20 });
    const attempt = await airlock.decideAs(id, { approver: 'bob', key: bobKey, decision: 'approve' });
    if (!attempt.accepted) throw new Error(`bob's approval of ${id} was refused: ${attempt.refusal?.message}`);
    const state = await airlock.result(id);
    if (state.status !== 'succeeded') throw new Error(`action ${id} ended ${state.status}: ${state.error?.message}`);
    ids.approval.push(id);
  };
  const cpu = { airlock: 0, bare: 0, sessions: 0 };
  // The other processes on the machine, whose CPU each action also costs.
  const temporalPort = stack.address.split(':').pop() as string;
  const motoPort = new URL(stack.moto.endpoint).port;
  const others = {
    temporal: findPid((a) => a.includes('start-dev') && a[a.indexOf('--port') + 1] === temporalPort),
    moto: findPid((a) => a.some((x) => x.endsWith('moto_server')) && a[a.indexOf('-p') + 1] === motoPort),
    instruments: instruments.pid,
  };
  const otherCpu = {
    airlock: { temporal: 0, moto: 0, instruments: 0 },
    bare: { temporal: 0, moto: 0, instruments: 0 },
    sessions: { temporal: 0, moto: 0, instruments: 0 },
  };
  /** Measures a phase, adding this process's CPU time, and the other processes', to the workload's. */
  const profiler = createPhaseProfiler(process.env.BENCH_PROFILE);
  /** This process's CPU by thread name, per workload (what no live thread accounts for: threads that ended). */
  const threads = {
    airlock: new Map<string, number>(),
    bare: new Map<string, number>(),
    sessions: new Map<string, number>(),
  };
  const phase = async (workload: Workload, n: number, one: (i: number) => Promise<void>) => {
    const before = process.cpuUsage();
    const threadsBefore = threadCpuMs();
    const othersBefore = Object.values(others).map(processCpuMs);
    const stats = await profiler.around(workload, () => measure(n, CONCURRENCY, one));
    const used = process.cpuUsage(before);
    const processMs = (used.user + used.system) / 1000;
    cpu[workload] += processMs;
    let counted = 0;
    for (const [name, ms] of threadCpuMs()) {
      const delta = ms - (threadsBefore.get(name) ?? 0);
      counted += delta;
      threads[workload].set(name, (threads[workload].get(name) ?? 0) + delta);
    }
    threads[workload].set('(ended)', (threads[workload].get('(ended)') ?? 0) + processMs - counted);
    Object.keys(others).forEach((name, i) => {
      const key = name as keyof typeof others;
      otherCpu[workload][key] += processCpuMs(others[key]) - othersBefore[i];
    });
    return stats;
  };

  const results = await Promise.all([
    airlockWorker.runUntil(async () =>
      bareWorker.runUntil(async () => {
        await measure(WARMUP, CONCURRENCY, runAirlock);
        await measure(WARMUP, CONCURRENCY, runBare);
        await measure(WARMUP, CONCURRENCY, runSessions);
        const [airlockSkip, bareSkip] = [airlockTarget.length, bareTarget.length];
        recording = true;
        // Rounds of the three, in alternating order, so that no workload gets a warmer or a quieter machine: this one
        // is shared, and its load comes in bursts.
        const rounds = { airlock: [] as Stats[], bare: [] as Stats[], sessions: [] as Stats[] };
        const runs = { airlock: runAirlock, bare: runBare, sessions: runSessions };
        for (let round = 0; round < ROUNDS; round++) {
          const order: Workload[] = round % 2 ? ['airlock', 'sessions', 'bare'] : ['bare', 'sessions', 'airlock'];
          for (const w of order) rounds[w].push(await phase(w, ACTIONS / ROUNDS, runs[w]));
        }
        recording = false;
        const calls = {
          airlock: airlockTarget.slice(airlockSkip),
          bare: bareTarget.slice(bareSkip),
        };
        for (let i = 0; i < APPROVALS; i++) await runApproval(i);
        // The ledger is a workflow on Airlock's queue: measured while the worker runs.
        const ledger = await ledgerRoundTripMs(airlockTemporal, airlockQueue);
        return { ...rounds, calls, ledger };
      }),
    ),
  ]);
  const { airlock: a, bare: b, sessions: c, calls, ledger } = results[0];
  const merge = (xs: Stats[]): Stats => ({
    n: xs.reduce((s, x) => s + x.n, 0),
    p50: xs.reduce((s, x) => s + x.p50, 0) / xs.length,
    p95: Math.max(...xs.map((x) => x.p95)),
    mean: xs.reduce((s, x) => s + x.mean * x.n, 0) / xs.reduce((s, x) => s + x.n, 0),
    throughput: xs.reduce((s, x) => s + x.throughput, 0) / xs.length,
  });
  const A = merge(a);
  const B = merge(b);
  const S = merge(c);
  const breakdown = await whereTimeWent({
    client,
    airlockTemporal,
    ids,
    calls,
    cpu,
    otherCpu,
    A,
    B,
    activities: timing.byRun,
  });
  const policy = policyDecisionMicros(cfg, benchIdentities);
  const row = (name: string, s: Stats) =>
    `${name.padEnd(34)} ${String(s.n).padStart(5)} ${s.p50.toFixed(1).padStart(9)} ${s.p95.toFixed(1).padStart(9)} ${s.mean.toFixed(1).padStart(9)} ${s.throughput.toFixed(1).padStart(10)}`;
  const report = [
    `Airlock benchmark — ${new Date().toISOString()} — ${ACTIONS} actions each, concurrency ${CONCURRENCY}, warmup ${WARMUP}`,
    `${'workload'.padEnd(34)} ${'n'.padStart(5)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'mean ms'.padStart(9)} ${'actions/s'.padStart(10)}`,
    row('airlock crm.add_note_to_customer', A),
    row('bare workflow + 1 activity', B),
    row('bare + the same AWS and CRM calls', S),
    `ratio airlock/bare: p50 ×${(A.p50 / B.p50).toFixed(2)}, p95 ×${(A.p95 / B.p95).toFixed(2)}, throughput ×${(A.throughput / B.throughput).toFixed(2)}`,
    `ratio airlock/(bare + the same calls): p50 ×${(A.p50 / S.p50).toFixed(2)}, p95 ×${(A.p95 / S.p95).toFixed(2)}, throughput ×${(A.throughput / S.throughput).toFixed(2)} (the gate itself, its calls aside)`,
    `(p50 is the mean of ${ROUNDS} interleaved rounds' medians; p95 the largest. Airlock/bare p50 round by round: ${a.map((x, i) => `×${(x.p50 / b[i].p50).toFixed(2)}`).join(', ')}.)`,
    '',
    breakdown.table,
    '',
    `policy decision (Cedar, decideProposal), a note (no facts): p50 ${policy.plain.p50.toFixed(0)} µs, p95 ${policy.plain.p95.toFixed(0)} µs over ${policy.plain.n} calls`,
    `policy decision with input facts (an email within example.com; no approval): p50 ${policy.email.p50.toFixed(0)} µs, p95 ${policy.email.p95.toFixed(0)} µs`,
    `policy decision with plan facts and limits (a 15.00 refund; 1 approval): p50 ${policy.refund1.p50.toFixed(0)} µs, p95 ${policy.refund1.p95.toFixed(0)} µs`,
    `policy decision with plan facts and limits (a 25.00 refund; 2 approvals): p50 ${policy.refund2.p50.toFixed(0)} µs, p95 ${policy.refund2.p95.toFixed(0)} µs`,
    `usage ledger round trip (reserve by Update, one at a time): p50 ${ledger.p50.toFixed(1)} ms, p95 ${ledger.p95.toFixed(1)} ms over ${ledger.n} reservations`,
    ...(['airlock', 'sessions', 'bare'] as const).map(
      (w) =>
        `${w}: this process's CPU per action by thread (ms): ${[...threads[w]]
          .sort((x, y) => y[1] - x[1])
          .filter(([, ms]) => Math.abs(ms) / ACTIONS >= 0.1)
          .map(([name, ms]) => `${name} ${(ms / ACTIONS).toFixed(1)}`)
          .join(', ')}`,
    ),
    ...profiler.summaries().map((s) => `\n${s}`),
  ].join('\n');
  console.log(`\n${report}\n`);
  const dir = join(REPO_ROOT, '.airlock', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'latest.json'),
    JSON.stringify(
      {
        at: new Date().toISOString(),
        actions: ACTIONS,
        concurrency: CONCURRENCY,
        airlock: A,
        bare: B,
        bareWithSameCalls: S,
        roundRatios: a.map((x, i) => x.p50 / b[i].p50),
        ...breakdown.json,
        policyMicros: policy,
        ledgerMs: ledger,
      },
      null,
      2,
    ),
  );

  await native.close();
  await connection.close();
  await instruments.close();
  await stack.stop();
}

/** Where the time of the measured runs went: stages from history, external calls, CPU per action. */
async function whereTimeWent(r: {
  client: Client;
  airlockTemporal: Client;
  ids: { airlock: string[]; bare: string[]; sessions: string[]; approval: string[] };
  calls: { airlock: TargetCall[]; bare: TargetCall[] };
  cpu: Record<Workload, number>;
  otherCpu: Record<Workload, { temporal: number; moto: number; instruments: number }>;
  A: Stats;
  B: Stats;
  activities: ActivityTimes['byRun'];
}) {
  const stagesOf = async (client: Client, ids: string[]) => {
    const out: RunStages[] = [];
    for (let i = 0; i < ids.length; i += 20)
      out.push(...(await Promise.all(ids.slice(i, i + 20).map((id) => runStages(client, id)))));
    return out;
  };
  const [air, bare, appr] = [
    await stagesOf(r.airlockTemporal, r.ids.airlock),
    await stagesOf(r.client, r.ids.bare),
    await stagesOf(r.airlockTemporal, r.ids.approval),
  ];
  const nA = r.ids.airlock.length;
  const nB = r.ids.bare.length;
  // External time per action: STS and Secrets Manager per action and step (as the worker's AWS clients took them),
  // the target per call.
  const awsPer = (stage: string) => r.ids.airlock.map((id) => r.activities.get(id)?.[`admitAndExecute:${stage}`] ?? 0);
  const targetPer = (calls: TargetCall[], methods: string[], n: number) => {
    const ms = calls.filter((c) => methods.includes(c.method)).reduce((s, c) => s + c.ms, 0);
    return ms / Math.max(1, n);
  };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  const external = {
    planSts: awsPer('sts-plan'),
    planSecrets: awsPer('secrets-plan'),
    executeSts: awsPer('sts-execute'),
    executeSecrets: awsPer('secrets-execute'),
  };
  const planTarget = targetPer(r.calls.airlock, ['GET'], nA);
  const executeTarget = targetPer(r.calls.airlock, ['POST', 'PATCH'], nA);
  const bareTarget = targetPer(r.calls.bare, ['POST'], nB);
  const externalPerAction =
    mean(external.planSts) +
    mean(external.planSecrets) +
    mean(external.executeSts) +
    mean(external.executeSecrets) +
    planTarget +
    executeTarget;
  const ran = (type: string) => percentiles(r.ids.airlock.map((id) => r.activities.get(id)?.[type] ?? 0));
  const lines: [string, { p50: number; p95: number } | number, string?][] = [
    ['first workflow task (schedules admission)', percentiles(air.map((s) => s.firstTask))],
    ['admitAndExecute (scheduled → completed)', percentiles(air.map((s) => s.activities.admitAndExecute ?? 0))],
    ['  in the worker (admission, plan, execution, audit record)', ran('admitAndExecute')],
    ['  of which verification (signature, binding, first run)', ran('admitAndExecute:verify')],
    ['  of which validation (task, input schema)', ran('admitAndExecute:validate')],
    ['  of which policy (Cedar, both checks)', ran('admitAndExecute:policy')],
    ['  of which plan (session, secrets, target read, hash)', ran('admitAndExecute:plan')],
    ['    of which STS AssumeRole (plan)', percentiles(external.planSts)],
    ['    of which Secrets Manager (plan)', percentiles(external.planSecrets)],
    ['    of which target reads (mean per action)', planTarget],
    ['  of which execution (session, secrets, target call)', ran('admitAndExecute:execute')],
    ['    of which STS AssumeRole (execute)', percentiles(external.executeSts)],
    ['    of which Secrets Manager (execute)', percentiles(external.executeSecrets)],
    ['    of which target write (mean per action)', executeTarget],
    ['  of which the audit record', ran('admitAndExecute:audit')],
    ['workflow tasks per action', percentiles(air.map((s) => s.workflowTasks))],
    ['workflow-task dispatch, total per action', percentiles(air.map((s) => s.taskDispatch))],
    ['workflow-task processing, total per action', percentiles(air.map((s) => s.taskProcessing))],
    ['run (start → close, server time)', percentiles(air.map((s) => s.run))],
    ['bare: workflow tasks per run', percentiles(bare.map((s) => s.workflowTasks))],
    ['bare: workflow-task dispatch + processing', percentiles(bare.map((s) => s.taskDispatch + s.taskProcessing))],
    ['bare: its activity (scheduled → completed)', percentiles(bare.map((s) => Object.values(s.activities)[0] ?? 0))],
    ['bare: run (start → close)', percentiles(bare.map((s) => s.run))],
    ['bare: target call (mean)', bareTarget],
    [
      `approval accepted → execution started (${appr.length} actions)`,
      percentiles(appr.map((s) => s.approvalToExecution ?? NaN)),
    ],
    [
      'approval accepted → final state (re-plan, execute, audit)',
      percentiles(appr.map((s) => s.approvalToClose ?? NaN)),
    ],
  ];
  const fmt = (v: { p50: number; p95: number } | number) =>
    typeof v === 'number'
      ? `${v.toFixed(1).padStart(9)} ${'(mean)'.padStart(9)}`
      : `${v.p50.toFixed(1).padStart(9)} ${v.p95.toFixed(1).padStart(9)}`;
  const overhead = { airlock: r.A.p50 - externalPerAction, bare: r.B.p50 - bareTarget };
  const cpuPer = { airlock: r.cpu.airlock / nA, bare: r.cpu.bare / nB };
  const per = (w: Workload, n: number) => {
    const o = r.otherCpu[w];
    const own = r.cpu[w] / n;
    return {
      worker: own,
      temporal: o.temporal / n,
      moto: o.moto / n,
      crm: o.instruments / n,
      machine: own + (o.temporal + o.moto + o.instruments) / n,
    };
  };
  const machine = {
    airlock: per('airlock', nA),
    bare: per('bare', nB),
    sessions: per('sessions', Math.max(1, r.ids.sessions.length)),
  };
  const f = (v: number) => v.toFixed(1);
  const table = [
    `${'where the time went (ms)'.padEnd(66)} ${'p50'.padStart(9)} ${'p95'.padStart(9)}`,
    ...lines.map(([name, v]) => `${name.padEnd(66)} ${fmt(v)}`),
    `Airlock's own overhead (p50 total − mean time in STS, Secrets Manager and the target): ${overhead.airlock.toFixed(1)} ms; bare: ${overhead.bare.toFixed(1)} ms (×${(overhead.airlock / overhead.bare).toFixed(2)})`,
    `process CPU per action (client and worker; the CRM runs apart): Airlock ${cpuPer.airlock.toFixed(1)} ms, bare ${cpuPer.bare.toFixed(1)} ms (×${(cpuPer.airlock / cpuPer.bare).toFixed(2)}); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    `machine CPU per action (ms), Airlock / bare: worker ${f(machine.airlock.worker)} / ${f(machine.bare.worker)}, Temporal dev server ${f(machine.airlock.temporal)} / ${f(machine.bare.temporal)}, moto ${f(machine.airlock.moto)} / ${f(machine.bare.moto)}, CRM ${f(machine.airlock.crm)} / ${f(machine.bare.crm)}; all ${f(machine.airlock.machine)} / ${f(machine.bare.machine)} (×${(machine.airlock.machine / machine.bare.machine).toFixed(2)})`,
    `bare + the same calls, machine CPU per action (ms): worker ${f(machine.sessions.worker)}, Temporal dev server ${f(machine.sessions.temporal)}, moto ${f(machine.sessions.moto)}, CRM ${f(machine.sessions.crm)}; all ${f(machine.sessions.machine)} (Airlock ×${(machine.airlock.machine / machine.sessions.machine).toFixed(2)})`,
  ].join('\n');
  return {
    table,
    json: {
      stages: Object.fromEntries(lines.map(([name, v]) => [name.trim(), v])),
      externalPerActionMs: externalPerAction,
      overheadMs: overhead,
      cpuPerActionMs: cpuPer,
      machineCpuPerActionMs: machine,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    },
  };
}

/**
 * Cedar's decision on a proposal, as admission asks it, timed over many calls (µs): a note (no facts, no approval)
 * and a refund decided on its plan's facts and its recent usage (three approval counts asked, two forbids read facts).
 */
function policyDecisionMicros(cfg: DevConfig, identities: Identities) {
  const engine = loadPolicies(join(REPO_ROOT, cfg.worker.policiesDir), createDefaultRegistry(), identities);
  const note = {
    agent: 'support-bot',
    user: 'alice',
    task: 'crm.add_note_to_customer',
    risk: 'low' as const,
    target: 'demo-crm:customer/C-1001',
  };
  const figures = { count: 4, total: 12_000 };
  const refund = (cents: number) => ({
    ...note,
    task: 'billing.refund_charge',
    risk: 'critical' as const,
    target: 'stripe:charge/ch_bench',
    plan: { amount: cents, currency: 'usd', amountHundredths: cents, shareOfChargePercent: 25 },
    recent: { agent: figures, user: figures, task: figures },
  });
  const email = {
    ...note,
    task: 'support.send_email',
    risk: 'high' as const,
    target: 'aws-ses:support@example.com->ada@example.com',
    facts: { recipientDomain: 'example.com' },
  };
  const time = (query: Parameters<typeof engine.decideProposal>[0]) => {
    for (let i = 0; i < 200; i++) engine.decideProposal(query);
    const us: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      engine.decideProposal(query);
      us.push((performance.now() - t0) * 1000);
    }
    return { n: us.length, ...percentiles(us) };
  };
  const needs = [
    engine.decideProposal(email),
    engine.decideProposal(refund(1500)),
    engine.decideProposal(refund(2500)),
  ];
  if (needs.map((d) => d.approvalsRequired).join() !== '0,1,2')
    throw new Error('the benchmark decisions should need 0, 1 and 2 approvals');
  return { plain: time(note), email: time(email), refund1: time(refund(1500)), refund2: time(refund(2500)) };
}

/** The usage ledger's round trip, as an activity reserves (Update-with-start on a running ledger), in ms. */
async function ledgerRoundTripMs(client: Client, taskQueue: string) {
  const ledger = temporalUsageLedger(client, taskQueue);
  const reserve = (i: number) =>
    ledger.reserve('billing.refund_charge', {
      actionId: `bench-ledger-${process.pid}-${i}`,
      runId: 'bench',
      agent: 'bench-bot',
      requester: 'bench-bot',
      amount: 1,
    });
  await reserve(-1); // starts the ledger
  const ms: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await reserve(i);
    ms.push(performance.now() - t0);
  }
  return { n: ms.length, ...percentiles(ms) };
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
