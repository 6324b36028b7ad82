/**
 * `npm start`: the whole local stack, kept running until Ctrl-C.
 * Temporal dev server (SQLite under .airlock/, Web UI), moto seeded with the dev roles and secrets, the demo CRM
 * (a demonstration target) reading its token from moto, stripe-mock, the codec server, and the Airlock worker as
 * its own process. With AIRLOCK_TRACES=1, Jaeger too, and the worker and the inbox send it their traces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadDevConfig, REPO_ROOT } from './dev-config';
import { startDemoCrm } from './demo-crm/demo-crm-server';
import { MOTO_ADMIN, seedMoto, startMoto } from './moto';
import { registerSearchAttributes } from './register-search-attributes';
import { dynamicConfigArgs, sqlitePragmaArgs } from './temporal-dev-server';
import { waitForTemporal } from './temporal-server-process';
import { WORKER_ENV, WORKER_NODE_OPTIONS } from './worker-process';
import { builtWorkerEntry } from './built-worker';
import { temporalCliPath } from './tools';
import { keysDir } from '../crypto/signing-keys';
import { seedIdentities } from './seed-identities';
import { startCodecServer } from '../crypto/codec-server';
import { startStripeMock } from './stripe-mock';
import { AesGcmCodec, newCodecKeyFile } from '../crypto/encryption-codec';
import { airlockDataConverter, requireCodecKeys } from '../crypto/data-converter';
import { AirlockClient } from '../client/airlock-client';
import { startInbox } from '../inbox/start-inbox';
import { writeLocalStackProfile } from '../config/local-stack-profile';
import { startJaeger, type Jaeger } from './jaeger';
import { telemetryFromEnv } from '../telemetry/telemetry';
import { tracedClient } from '../telemetry/client-tracing';

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

function log(part: string, text: string): void {
  for (const line of text.split('\n')) if (line.trim()) console.log(`[${part}] ${line}`);
}

/**
 * temporal-dev.yml's settings, with ports and the state folder overridable for running a second stack beside the
 * first (the stack's own test does): AIRLOCK_STACK_DIR, AIRLOCK_TEMPORAL_PORT, AIRLOCK_UI_PORT, AIRLOCK_MOTO_PORT,
 * AIRLOCK_CRM_PORT, AIRLOCK_CODEC_PORT, AIRLOCK_STRIPE_PORT, AIRLOCK_INBOX_PORT; with AIRLOCK_TRACES=1,
 * AIRLOCK_JAEGER_PORT (its page and query API, 16686) and AIRLOCK_OTLP_PORT (where traces go, 4318).
 */
function settings() {
  const cfg = loadDevConfig();
  const env = process.env;
  const port = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  const stateDir = env.AIRLOCK_STACK_DIR ?? join(REPO_ROOT, '.airlock');
  return {
    cfg,
    temporal: {
      ...cfg.temporal,
      port: port('AIRLOCK_TEMPORAL_PORT', cfg.temporal.port),
      ui: { port: port('AIRLOCK_UI_PORT', cfg.temporal.ui.port) },
    },
    motoPort: port('AIRLOCK_MOTO_PORT', cfg.moto.port),
    codecPort: port('AIRLOCK_CODEC_PORT', cfg.codecServer.port),
    inboxPort: port('AIRLOCK_INBOX_PORT', cfg.inbox.port),
    stateDir,
    crmPort: port('AIRLOCK_CRM_PORT', cfg.demoCrm.port),
    stripePort: port('AIRLOCK_STRIPE_PORT', cfg.stripeMock.port),
    traces: env.AIRLOCK_TRACES === '1',
    jaegerPort: port('AIRLOCK_JAEGER_PORT', 16686),
    otlpPort: port('AIRLOCK_OTLP_PORT', 4318),
    dbFile: env.AIRLOCK_STACK_DIR ? join(stateDir, 'temporal.db') : join(REPO_ROOT, cfg.temporal.dbFile),
    approversFile: join(stateDir, 'approvers.json'),
    agentsFile: join(stateDir, 'agents.json'),
    codecKeyFile: join(stateDir, 'codec-keys.json'),
    auditLog: env.AIRLOCK_AUDIT_LOG ?? join(stateDir, 'audit.jsonl'),
  };
}

async function main(): Promise<void> {
  const {
    cfg,
    temporal: t,
    motoPort,
    crmPort,
    stripePort,
    codecPort,
    inboxPort,
    dbFile,
    approversFile,
    agentsFile,
    codecKeyFile,
    stateDir,
    auditLog,
    traces,
    jaegerPort,
    otlpPort,
  } = settings();
  seedIdentities(keysDir(), { approversFile, agentsFile }, cfg.approvers, cfg.agents);
  mkdirSync(stateDir, { recursive: true });
  // Payload encryption keys live beside the database, never in the repository; created once, kept across starts.
  if (!existsSync(codecKeyFile)) writeFileSync(codecKeyFile, newCodecKeyFile(), { mode: 0o600 });
  const codecKeys = requireCodecKeys({ AIRLOCK_CODEC_KEY_FILE: codecKeyFile });
  const codecToken = randomBytes(24).toString('base64url');
  writeFileSync(join(stateDir, 'codec-server-token'), `${codecToken}\n`, { mode: 0o600 });
  const uiOrigin = `http://localhost:${t.ui.port}`;
  // The dev server's Web UI has no login, hence no token to pass. Trusting its origin lets any local process that
  // sends that Origin header decode, so it happens only when asked for: AIRLOCK_DEV_UI_DECODES=1.
  const trustUi = process.env.AIRLOCK_DEV_UI_DECODES === '1';
  const codecServer = await startCodecServer({
    codec: new AesGcmCodec(codecKeys, 'mark'),
    auth: { token: codecToken, ...(trustUi ? { trustedUiOrigin: uiOrigin } : {}) },
    allowedOrigins: [uiOrigin, `http://127.0.0.1:${t.ui.port}`],
    host: cfg.codecServer.ip,
    port: codecPort,
  });
  cleanups.push(() => codecServer.close());
  const address = `${t.ip}:${t.port}`;
  mkdirSync(dirname(dbFile), { recursive: true });

  const temporal = spawn(
    temporalCliPath(),
    [
      'server',
      'start-dev',
      '--ip',
      t.ip,
      '--port',
      String(t.port),
      '--ui-port',
      String(t.ui.port),
      '--namespace',
      t.namespace,
      '--db-filename',
      dbFile,
      '--log-level',
      'warn',
      '--ui-codec-endpoint',
      codecServer.url,
      ...dynamicConfigArgs(t),
      ...sqlitePragmaArgs(t),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(temporal);
  temporal.stdout?.on('data', (c: Buffer) => log('temporal', c.toString()));
  temporal.stderr?.on('data', (c: Buffer) => log('temporal', c.toString()));

  const moto = await startMoto(motoPort, { log: (l) => process.env.AIRLOCK_DEBUG && log('moto', l) });
  cleanups.push(() => moto.stop());
  await seedMoto(moto.endpoint, cfg.moto);

  // The demo CRM reads its tokens from the same secrets the tasks read, with its own (admin) identity.
  const sm = new SecretsManagerClient({ region: cfg.moto.region, endpoint: moto.endpoint, credentials: MOTO_ADMIN });
  const secret = async (id: string) => (await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? '';
  const [token, readToken] = [await secret(cfg.demoCrm.tokenSecret), await secret(cfg.demoCrm.readTokenSecret)];
  sm.destroy();
  const crm = await startDemoCrm({
    token,
    readToken,
    customers: cfg.demoCrm.customers,
    host: cfg.demoCrm.ip,
    port: crmPort,
  });
  cleanups.push(() => crm.close());
  const stripe = await startStripeMock(stripePort);
  cleanups.push(() => stripe.stop());
  // Traces, when asked for: Jaeger in memory, and the standard variables that send the worker's and inbox's there
  // (metrics stay off: Jaeger takes traces only).
  let jaeger: Jaeger | undefined;
  let otel: Record<string, string> = {};
  if (traces) {
    // Its warning that its own UI is not in the binary is expected: the stack's trace page stands in for it.
    jaeger = await startJaeger(jaegerPort, otlpPort, {
      log: (l) => !l.includes('ui assets not embedded') && log('jaeger', l),
    });
    cleanups.push(() => (jaeger as Jaeger).stop());
    otel = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_METRICS_EXPORTER: 'none' };
  }
  const inboxTelemetry = telemetryFromEnv('airlock-inbox', otel);
  if (inboxTelemetry) cleanups.push(() => inboxTelemetry.shutdown());

  const connection = await waitForTemporal(address, temporal);
  const added = await registerSearchAttributes(connection, t.namespace);
  if (added.length) log('temporal', `registered search attributes: ${added.join(', ')}`);
  await connection.close();

  const worker = spawn(process.execPath, [...WORKER_NODE_OPTIONS, builtWorkerEntry()], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The worker's whole configuration: it has no defaults of its own (config/runtime-config.ts).
    env: {
      ...WORKER_ENV,
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: t.namespace,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: cfg.moto.region,
      AIRLOCK_AWS_ACCOUNT_ID: cfg.moto.accountId,
      // moto accepts any key pair; this one names the worker in moto's logs.
      AWS_ACCESS_KEY_ID: 'airlock-worker',
      AWS_SECRET_ACCESS_KEY: 'airlock-worker',
      AIRLOCK_POLICIES_DIR: join(REPO_ROOT, cfg.worker.policiesDir),
      AIRLOCK_ENDPOINT_DEMO_CRM: crm.url,
      AIRLOCK_ENDPOINT_STRIPE: stripe.url,
      AIRLOCK_APPROVERS_FILE: approversFile,
      AIRLOCK_AGENTS_FILE: agentsFile,
      AIRLOCK_CODEC_KEY_FILE: codecKeyFile,
      AIRLOCK_AUDIT_LOG: auditLog,
      AIRLOCK_NOTIFY_EMAIL_FROM: cfg.notifications.emailFrom,
      AIRLOCK_INBOX_URL: `http://localhost:${inboxPort}`,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...otel,
    },
  });
  children.push(worker);
  const polling = new Promise<void>((resolve) => {
    worker.stdout?.on('data', (c: Buffer) => {
      const text = c.toString();
      if (process.env.AIRLOCK_DEBUG || !/\[INFO\]|modules by path|webpack|^\s/.test(text)) log('worker', text);
      if (text.includes('airlock worker: polling')) resolve();
    });
  });
  worker.stderr?.on('data', (c: Buffer) => log('worker', c.toString()));
  worker.on('exit', (code) => {
    if (!shuttingDown) {
      log('worker', `exited with code ${code}; stopping the stack.`);
      void shutdown(1);
    }
  });

  await polling;
  const inboxConnection = await Connection.connect({ address });
  cleanups.push(() => inboxConnection.close());
  const inboxClient = new AirlockClient(
    tracedClient(
      new Client({
        connection: inboxConnection,
        namespace: t.namespace,
        dataConverter: airlockDataConverter(codecKeys),
      }),
      inboxTelemetry,
    ),
  );
  const inbox = await startInbox({
    client: inboxClient,
    approversFile,
    agentsFile,
    host: cfg.inbox.ip,
    port: inboxPort,
  });
  cleanups.push(() => inbox.close());
  // How clients reach this stack: `npx airlock` in the repository reads it for whatever its environment leaves unset.
  const profile = writeLocalStackProfile(stateDir, {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: t.namespace,
    AIRLOCK_CODEC_KEY_FILE: codecKeyFile,
    AIRLOCK_AUDIT_LOG: auditLog,
    AIRLOCK_APPROVERS_FILE: approversFile,
    AIRLOCK_AGENTS_FILE: agentsFile,
    AIRLOCK_POLICIES_DIR: join(REPO_ROOT, cfg.worker.policiesDir),
    AIRLOCK_INBOX_URL: inbox.url,
  });
  cleanups.push(async () => rmSync(profile, { force: true }));
  console.log(`
Airlock local stack is up.
  Temporal        ${address}  (namespace ${t.namespace}, database ${dbFile})
  Temporal Web UI http://localhost:${t.ui.port}
  moto (AWS)      ${moto.endpoint}  (STS, IAM, Secrets Manager, SSM, SES, DynamoDB; seeded from temporal-dev.yml)
  demo CRM        ${crm.url}  (a demonstration target; customers C-1001 … C-1005)
  stripe-mock     ${stripe.url}  (Stripe's API emulator; stateless)
  codec server    ${codecServer.url}  (payloads are AES-256-GCM encrypted; keys in ${codecKeyFile})
                  ${trustUi ? 'the Web UI decodes (AIRLOCK_DEV_UI_DECODES=1: any local process sending its Origin can too)' : 'the Web UI shows payloads encrypted; start with AIRLOCK_DEV_UI_DECODES=1 to let it decode'}
                  temporal workflow show -w <action-id> --address ${address} \\
                      --codec-endpoint ${codecServer.url} --codec-auth "Bearer ${codecToken}"
  worker          polling task queue airlock-actions
  approval inbox  ${inbox.url}  (approvers enrol a passkey from: npx airlock approvers invite <name>)
  clients         settings in ${profile} (read by \`npx airlock\` from this folder; removed at Ctrl-C)${
    jaeger
      ? `
  traces          Jaeger ${jaeger.url}  (each action's trace; OTLP/HTTP in at ${jaeger.otlpEndpoint}, kept in memory)
                  trace proposals from a shell too: export OTEL_EXPORTER_OTLP_ENDPOINT=${jaeger.otlpEndpoint}`
      : ''
  }
  approvers       ${cfg.approvers.map((a) => `${a.name}${a.groups.length ? ` (${a.groups.join(', ')})` : ''}`).join(', ')}
  agents          ${cfg.agents.map((a) => `${a.name} (owners ${a.owners.join(', ')})`).join(', ')}
                  keys in ${keysDir()}, registered in ${approversFile} and ${agentsFile}

Try, in another terminal:
  npx airlock propose crm.add_note_to_customer --agent support-bot --user alice \\
      --input '{"customerId":"C-1001","note":"Called about renewal"}' --wait
  npx airlock propose crm.update_customer --agent support-bot --user alice \\
      --input '{"customerId":"C-1002","changes":{"tier":"gold"}}'
  npx airlock pending
  npx airlock approve <action-id> --as bob      (or in the inbox, after: npx airlock approvers invite bob)
  npx airlock audit <action-id>

Ctrl-C stops everything; pending actions stay in ${dbFile}.`);
}

let shuttingDown = false;
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(cleanups.map((c) => c().catch(() => undefined)));
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
main().catch((err: unknown) => {
  console.error(`npm start: ${(err as Error).message}`);
  void shutdown(1);
});
