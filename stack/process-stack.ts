import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AirlockClient } from '../client/airlock-client';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { loadSigningKey } from '../crypto/signing-keys';
import { builtWorkerEntry } from './built-worker';
import { loadDevConfig, REPO_ROOT } from './dev-config';
import { startDemoCrm, type DemoCrm } from './demo-crm/demo-crm-server';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { freePort } from './free-port';
import { seedMoto, startMoto } from './moto';
import { registerSearchAttributes } from './register-search-attributes';
import { seedIdentities } from './seed-identities';
import { startStripeMock } from './stripe-mock';
import { dynamicConfigArgs, sqlitePragmaArgs } from './temporal-dev-server';
import { startTemporalServerProcess, type TemporalServerProcess } from './temporal-server-process';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

/**
 * A stack whose parts are real processes that can be killed: the Temporal dev server (file-backed, so it can be
 * restarted where it was), moto, stripe-mock, and any number of Airlock workers, each `workers/main.ts` in its own
 * process. Every target is reached through a fault proxy (`crm`, `aws`, `stripe`) that records what it forwards and
 * can fail, slow, cut or hold a request. For the fault suite and the load benchmark.
 */
export interface ProcessStack {
  client: Client;
  airlock: AirlockClient;
  crm: DemoCrm;
  proxies: { crm: FaultProxy; aws: FaultProxy; stripe: FaultProxy };
  /** moto itself (tests read what a target holds from here, not through the proxy). */
  motoEndpoint: string;
  temporalAddress: string;
  namespace: string;
  auditLogPath: string;
  keysDir: string;
  /** Starts one more worker process (environment on top of the stack's own; `execArgv` for Node, e.g. a probe). */
  startWorker(env?: Record<string, string>, opts?: { execArgv?: string[] }): Promise<WorkerProcess>;
  /** Every worker process started so far. */
  workers: WorkerProcess[];
  /** Stops the Temporal server (SIGKILL by default: a crash) and starts it again on the same file and port. */
  restartTemporal(signal?: NodeJS.Signals, downMs?: number): Promise<void>;
  /** Signs and sends a decision as a person of the stack (bob and carol approve). */
  decide(id: string, approver: string, decision?: 'approve' | 'reject'): ReturnType<AirlockClient['decideAs']>;
  close(): Promise<void>;
}

/** Agents the stack registers (owned by dave, who approves nothing). */
const AGENTS = ['support-bot', 'ops-bot', 'load-bot'].map((name) => ({ name, owners: ['dave'] }));

/** Starts a {@link ProcessStack} on free ports in a new temporary folder. */
export async function startProcessStack(
  opts: { log?: (part: string, text: string) => void; workerEnv?: Record<string, string> } = {},
): Promise<ProcessStack> {
  const cfg = loadDevConfig();
  const log = opts.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'airlock-process-stack-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const workers: WorkerProcess[] = [];
  try {
    const [temporalPort, motoPort, stripePort] = await Promise.all([freePort(), freePort(), freePort()]);
    const serverOpts = {
      ip: '127.0.0.1',
      port: temporalPort,
      namespace: cfg.temporal.namespace,
      dbFile: join(dir, 'temporal.db'),
      args: [...dynamicConfigArgs(cfg.temporal), ...sqlitePragmaArgs(cfg.temporal)],
      log: (t: string) => log('temporal', t),
    };
    builtWorkerEntry(); // before anything starts: a missing or stale build says so at once
    const [firstTemporal, moto, stripeMock] = await Promise.all([
      startTemporalServerProcess(serverOpts),
      startMoto(motoPort),
      startStripeMock(stripePort),
    ]);
    let temporal: TemporalServerProcess = firstTemporal;
    cleanups.push(
      () => temporal.stop('SIGKILL'),
      () => moto.stop(),
      () => stripeMock.stop(),
    );

    const crmToken = `crm-${randomBytes(18).toString('base64url')}`;
    const crmReadToken = `crm-read-${randomBytes(18).toString('base64url')}`;
    await seedMoto(moto.endpoint, cfg.moto, {
      overrides: { [cfg.demoCrm.tokenSecret]: crmToken, [cfg.demoCrm.readTokenSecret]: crmReadToken },
    });
    const crm = await startDemoCrm({ token: crmToken, readToken: crmReadToken, customers: cfg.demoCrm.customers });
    cleanups.push(() => crm.close());
    const proxies = {
      crm: await startFaultProxy(crm.url),
      aws: await startFaultProxy(moto.endpoint),
      stripe: await startFaultProxy(stripeMock.url),
    };
    for (const p of Object.values(proxies)) cleanups.push(() => p.close());

    const keysDir = join(dir, 'keys');
    mkdirSync(keysDir);
    const approversFile = join(keysDir, 'approvers.json');
    const agentsFile = join(keysDir, 'agents.json');
    seedIdentities(keysDir, { approversFile, agentsFile }, cfg.approvers, AGENTS);
    const codecKeyFile = join(dir, 'codec-keys.json');
    const keyFile = newCodecKeyFile('k1');
    writeFileSync(codecKeyFile, keyFile, { mode: 0o600 });
    const auditLogPath = join(dir, 'audit.jsonl');

    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    await registerSearchAttributes(connection, cfg.temporal.namespace);
    const client = new Client({
      connection,
      namespace: cfg.temporal.namespace,
      dataConverter: airlockDataConverter(parseCodecKeys(keyFile, codecKeyFile)),
    });
    const airlock = new AirlockClient(client, { agentKey: (agent) => loadSigningKey(agent, keysDir) });

    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: cfg.temporal.namespace,
      AWS_ENDPOINT_URL: proxies.aws.url,
      AWS_REGION: cfg.moto.region,
      AIRLOCK_AWS_ACCOUNT_ID: cfg.moto.accountId,
      AWS_ACCESS_KEY_ID: 'airlock-worker',
      AWS_SECRET_ACCESS_KEY: 'airlock-worker',
      AIRLOCK_POLICIES_DIR: join(REPO_ROOT, cfg.worker.policiesDir),
      AIRLOCK_ENDPOINT_DEMO_CRM: proxies.crm.url,
      AIRLOCK_ENDPOINT_STRIPE: proxies.stripe.url,
      AIRLOCK_APPROVERS_FILE: approversFile,
      AIRLOCK_AGENTS_FILE: agentsFile,
      AIRLOCK_CODEC_KEY_FILE: codecKeyFile,
      AIRLOCK_AUDIT_LOG: auditLogPath,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...opts.workerEnv,
    };
    let stopped = false;
    return {
      client,
      airlock,
      crm,
      proxies,
      motoEndpoint: moto.endpoint,
      temporalAddress: temporal.address,
      namespace: cfg.temporal.namespace,
      auditLogPath,
      keysDir,
      workers,
      async startWorker(extra = {}, o = {}) {
        const n = workers.length + 1;
        const worker = await startWorkerProcess({ ...env, ...extra }, { ...o, log: (t) => log(`worker ${n}`, t) });
        workers.push(worker);
        return worker;
      },
      async restartTemporal(signal = 'SIGKILL', downMs = 0) {
        await temporal.stop(signal);
        if (downMs) await new Promise((r) => setTimeout(r, downMs));
        temporal = await startTemporalServerProcess(serverOpts);
      },
      decide: (id, approver, decision = 'approve') =>
        airlock.decideAs(id, { approver, key: loadSigningKey(approver, keysDir), decision }),
      async close() {
        if (stopped) return;
        stopped = true;
        await Promise.all(workers.map((w) => w.kill()));
        for (const c of cleanups.reverse()) await c().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(workers.map((w) => w.kill()));
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
