import { randomUUID } from 'node:crypto';
import type { NotificationSettings } from '../../config/runtime-config';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type ActivityExecuteInput, type Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { Context as ActivityContext } from '@temporalio/activity';
import { AirlockClient } from '../../client/airlock-client';
import { loadDevConfig, REPO_ROOT } from '../../stack/dev-config';
import type { AwsSettings } from '../../config/runtime-config';
import { createActivityDeps, createAirlockWorker } from '../../workers/create-worker';
import type { ActivityDeps } from '../../activities';
import { startDemoCrm, type DemoCrm } from '../../stack/demo-crm/demo-crm-server';
import { TEST_ENV, testEnv } from './test-env';
import { startFaultProxy, type FaultProxy } from '../../stack/fault-proxy';
import { airlockDataConverter } from '../../crypto/data-converter';
import { parseCodecKeys } from '../../crypto/encryption-codec';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadIdentities } from '../../config/identities';
import { loadSigningKey } from '../../crypto/signing-keys';
import { seedIdentities } from '../../stack/seed-identities';
import type { ApprovalAttempt } from '../../common/types';
import type { TaskRegistry } from '../../tasks/task-registry';
import type { AuditStore } from '../../audit/audit-store';
import type { AirlockTelemetry } from '../../telemetry/telemetry';
import { tracedClient } from '../../telemetry/client-tracing';

let runtimeInstalled = false;
/** Everything the worker runtime logged in this test file (messages and their metadata, as text). */
const workerLogs: string[] = [];

/** Everything one test file needs: a client, a running worker on its own task queue, a demo CRM. */
export interface Harness {
  airlock: AirlockClient;
  client: Client;
  crm: DemoCrm;
  aws: AwsSettings;
  taskQueue: string;
  /** Starts (or restarts) the worker. */
  startWorker(): Promise<void>;
  motoEndpoint: string;
  /** Makes chosen AWS operations of the worker fail (the worker's AWS endpoint is this proxy in front of moto). */
  awsFaults: FaultProxy;
  /** Everything the worker sent to stripe-mock. */
  stripe: FaultProxy;
  /** This file's audit log. */
  auditLogPath: string;
  /** What the worker runtime logged so far in this test file. */
  logs: string[];
  /** The private keys of people (bob, carol in group approvers; alice, mallory in none) and of the test agents. */
  keysDir: string;
  approversFile: string;
  agentsFile: string;
  /** Approves as bob, then carol, until the action stops awaiting approval (quorums of one or two). */
  approveAll(id: string): Promise<void>;
  /** Signs and sends a decision as `approver`, with their key from {@link keysDir}. */
  decide(
    id: string,
    approver: string,
    decision?: 'approve' | 'reject',
    opts?: { reason?: string; planHash?: string },
  ): Promise<ApprovalAttempt>;
  /** The activities' dependencies, built as the worker builds them (for tests that run one activity directly). */
  activityDeps(): ActivityDeps;
  /** Stops the worker and waits until it has shut down. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Simulates a worker that dies as an execution begins: the first attempt of every activity that may execute neither
 * answers nor heartbeats (until the worker shuts down), as if its process were gone. Only the heartbeat timeout lets
 * Temporal try again.
 */
const dieAtFirstExecution = (ctx: ActivityContext) => ({
  inbound: {
    async execute(input: ActivityExecuteInput, next: (input: ActivityExecuteInput) => Promise<unknown>) {
      const executes = ctx.info.activityType === 'executeAction' || ctx.info.activityType === 'admitAndExecute';
      if (executes && ctx.info.attempt === 1) {
        await ctx.cancelled; // rejects when the worker shuts down
      }
      return next(input);
    },
  },
});

/** Connects to the suite's Temporal and moto, starts a demo CRM and a worker. */
/**
 * Simulates a worker that crashes after a task's effect but before the result reaches Temporal: the first attempt
 * of every execution runs fully, then its result is lost, so Temporal runs the execution again.
 */
const loseFirstExecutionResult = (ctx: ActivityContext) => ({
  inbound: {
    async execute(input: ActivityExecuteInput, next: (input: ActivityExecuteInput) => Promise<unknown>) {
      const result = await next(input);
      // Admission executes an action that needs no approval itself.
      const executed =
        ctx.info.activityType === 'executeAction' ||
        (ctx.info.activityType === 'admitAndExecute' && (result as { executed?: unknown }).executed !== undefined);
      if (executed && ctx.info.attempt === 1) {
        throw ApplicationFailure.retryable(
          'simulated worker crash after the effect, before the result was recorded',
          'SIMULATED_CRASH',
        );
      }
      return result;
    },
  },
});

/** Agents every test file has registered (owned by dave, who approves nothing). `rogue-bot` is never registered. */
export const TEST_AGENTS = [
  'support-bot',
  'ops-bot',
  'ceo-bot',
  'careful-bot',
  'hasty-bot',
  'quick-bot',
  'slow-bot',
  'test-bot',
  'other-bot',
  'admin-bot',
].map((name) => ({
  name,
  owners: ['dave'],
}));

export async function startHarness(
  opts: {
    policiesDir?: string;
    taskQueue?: string;
    registry?: TaskRegistry;
    crashAfterFirstExecution?: boolean;
    /** Every execution's first attempt hangs without a heartbeat, as on a worker that died (see dieAtFirstExecution). */
    dieAtFirstExecution?: boolean;
    /** Keeps no workflow in the worker's cache: every workflow task replays the whole history (a determinism test). */
    noWorkflowCache?: boolean;
    agents?: { name: string; owners: string[] }[];
    /** Where the worker tells people that actions wait (none by default). */
    notifications?: NotificationSettings;
    /** The worker's audit store (by default the file {@link Harness.auditLogPath}). */
    auditStore?: AuditStore;
    /** Traces and metrics of the worker and of the client's proposals and decisions (none by default). */
    telemetry?: AirlockTelemetry;
  } = {},
): Promise<Harness> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: new DefaultLogger('DEBUG', (entry) => {
        workerLogs.push(
          `${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {}, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v))}`,
        );
        // Refused decisions are expected by the flood tests; everything else a worker warns of is shown.
        if ((entry.level === 'WARN' && entry.message !== 'decision refused before history') || entry.level === 'ERROR')
          console.warn(
            `[worker ${entry.level}] ${entry.message} ${process.env.AIRLOCK_DEBUG ? JSON.stringify(entry.meta, (_k, v: unknown) => (v instanceof Error ? v.message : v)) : ''}`,
          );
      }),
    });
    runtimeInstalled = true;
  }
  const cfg = loadDevConfig();
  const address = testEnv('temporalAddress');
  const namespace = testEnv('namespace');
  // The worker reaches moto through a proxy that tests can make fail; tests read moto directly.
  const awsFaults = await startFaultProxy(testEnv('motoEndpoint'));
  // Stripe calls go through a recording proxy too: stripe-mock keeps no state, so tests read what it was sent.
  const stripe = await startFaultProxy(testEnv('stripeUrl'));
  const aws: AwsSettings = { region: cfg.moto.region, endpoint: awsFaults.url, accountId: cfg.moto.accountId };
  const crm = await startDemoCrm({
    token: testEnv('crmToken'),
    readToken: testEnv('crmReadToken'),
    customers: cfg.demoCrm.customers,
  });
  const connection = await Connection.connect({ address });
  const codecKeys = parseCodecKeys(testEnv('codecKeys'), TEST_ENV.codecKeys);
  const client = new Client({ connection, namespace, dataConverter: airlockDataConverter(codecKeys) });
  const nativeConnection = await NativeConnection.connect({ address });
  const keysDir = mkdtempSync(join(tmpdir(), 'airlock-keys-'));
  const approversFile = join(keysDir, 'approvers.json');
  const agentsFile = join(keysDir, 'agents.json');
  const auditLogPath = join(keysDir, 'audit.jsonl');
  seedIdentities(keysDir, { approversFile, agentsFile }, cfg.approvers, opts.agents ?? TEST_AGENTS);
  const identities = loadIdentities({ approversFile, agentsFile });
  const taskQueue = opts.taskQueue ?? `airlock-test-${randomUUID()}`;
  const airlock = new AirlockClient(tracedClient(client, opts.telemetry), {
    taskQueue,
    agentKey: (agent) => loadSigningKey(agent, keysDir),
  });

  const workerOptions = {
    connection: nativeConnection,
    namespace,
    aws,
    endpoints: { 'demo-crm': crm.url, stripe: stripe.url },
    policiesDir: opts.policiesDir ?? join(REPO_ROOT, cfg.worker.policiesDir),
    registry: opts.registry,
    identities,
    codecKeys,
    auditLogPath,
    ...(opts.auditStore ? { auditStore: opts.auditStore } : {}),
    awsCredentials: { accessKeyId: 'airlock-worker', secretAccessKey: 'airlock-worker' },
    ...(opts.notifications ? { notifications: opts.notifications } : {}),
    ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
  };
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const startWorker = async () => {
    worker = await createAirlockWorker({
      ...workerOptions,
      taskQueue,
      workflowBundle: { codePath: testEnv('workflowBundle') },
      tuning: {
        ...(opts.crashAfterFirstExecution ? { interceptors: { activity: [loseFirstExecutionResult] } } : {}),
        ...(opts.dieAtFirstExecution ? { interceptors: { activity: [dieAtFirstExecution] } } : {}),
        ...(opts.noWorkflowCache ? { maxCachedWorkflows: 0 } : {}),
      },
    });
    running = worker.run();
  };
  const stopWorker = async () => {
    worker?.shutdown();
    await running;
    worker = undefined;
    running = undefined;
  };
  await startWorker();
  const decide: Harness['decide'] = (id, approver, decision = 'approve', o = {}) =>
    airlock.decideAs(id, { approver, key: loadSigningKey(approver, keysDir), decision, ...o });
  return {
    airlock,
    client,
    crm,
    aws,
    taskQueue,
    motoEndpoint: testEnv('motoEndpoint'),
    awsFaults,
    stripe,
    logs: workerLogs,
    auditLogPath,
    keysDir,
    approversFile,
    agentsFile,
    decide,
    async approveAll(id) {
      for (const approver of ['bob', 'carol']) {
        if (
          (await airlock.waitFor(id, ['awaiting_approval', 'awaiting_reapproval', 'executing'])) !== 'awaiting_approval'
        )
          return;
        const attempt = await decide(id, approver);
        if (!attempt.accepted)
          throw new Error(`${approver}'s approval of ${id} was refused: ${attempt.refusal?.message}`);
        await airlock.waitFor(id, ['awaiting_reapproval', 'executing'], { timeoutMs: 1000 }).catch(() => undefined);
      }
    },
    startWorker,
    stopWorker,
    activityDeps: () => createActivityDeps(workerOptions),
    async close() {
      await stopWorker();
      await nativeConnection.close();
      await connection.close();
      await crm.close();
      await awsFaults.close();
      await stripe.close();
    },
  };
}
