/**
 * Records the histories of a few actions (auto-approved, dry run, denied, waiting for approval, approved, rejected, a
 * refund waiting and approved) and of a usage ledger with this version of Airlock, for a later version's replay test: `npx tsx scripts/record-histories.ts <out.json>`, run in a
 * checkout of the version to keep (test/fixtures/histories/airlock-5e6a003.json was recorded so). The fixture holds
 * its own test codec key.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { AirlockClient } from '../client/airlock-client';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';
import { startEphemeralStack, type EphemeralStack } from '../stack/ephemeral-stack';
import { startDemoCrm } from '../stack/demo-crm/demo-crm-server';
import { createAirlockWorker } from '../workers/create-worker';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { buildIdentities } from '../config/identities';
import { publicKeyText } from '../crypto/signing-keys';
import { usageLedgerId } from '../common/task-queue';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stack = await startEphemeralStack();
  try {
    await record(stack);
  } finally {
    // Also when recording fails: no Temporal, moto or stripe-mock is left behind.
    await stack.stop();
  }
}

async function record(stack: EphemeralStack): Promise<void> {
  const cfg = loadDevConfig();
  const crm = await startDemoCrm({
    token: stack.crmToken,
    readToken: stack.crmReadToken,
    customers: cfg.demoCrm.customers,
  });
  const codecKeyFile = newCodecKeyFile('fixture');
  const codecKeys = parseCodecKeys(codecKeyFile, 'fixture');
  const native = await NativeConnection.connect({ address: stack.address });
  const temporal = new Client({
    connection: native as never,
    namespace: stack.namespace,
    dataConverter: airlockDataConverter(codecKeys),
  });
  const { privateKey: agentKey, publicKey } = generateKeyPairSync('ed25519');
  const { privateKey: bobKey, publicKey: bobPublic } = generateKeyPairSync('ed25519');
  const identities = buildIdentities(
    [{ name: 'bob', publicKey: publicKeyText(bobPublic), groups: ['approvers'] }],
    [{ name: 'support-bot', publicKey: publicKeyText(publicKey), owners: ['dave'] }],
  );
  const taskQueue = `fixture-${randomUUID()}`;
  const worker = await createAirlockWorker({
    connection: native,
    namespace: stack.namespace,
    taskQueue,
    aws: { region: cfg.moto.region, endpoint: stack.moto.endpoint, accountId: cfg.moto.accountId },
    endpoints: { 'demo-crm': crm.url, stripe: stack.stripe.url },
    policiesDir: join(REPO_ROOT, cfg.worker.policiesDir),
    identities,
    codecKeys,
    auditLogPath: join(mkdtempSync(join(tmpdir(), 'fixture-')), 'audit.jsonl'),
    awsCredentials: { accessKeyId: 'fixture', secretAccessKey: 'fixture' },
  });
  const airlock = new AirlockClient(temporal, { taskQueue, agentKey: () => agentKey });
  const histories: Record<string, string> = {};
  const save = async (name: string, id: string) => {
    const h = await temporal.workflow.getHandle(id).fetchHistory();
    const History = proto.api.history.v1.History;
    histories[name] = Buffer.from(History.encode(History.fromObject(h)).finish()).toString('base64');
  };
  const propose = (task: string, input: unknown, more: { user?: string; dryRun?: boolean } = {}) =>
    airlock.propose({ task, input, agent: 'support-bot', user: more.user ?? 'alice', dryRun: more.dryRun });
  /** Proposes, lets bob decide once it waits (recording it waiting first, if asked), and records the end. */
  const decided = async (name: string, input: unknown, decision: 'approve' | 'reject', waiting?: string) => {
    const { id } = await propose('crm.update_customer', input);
    await airlock.waitFor(id, ['awaiting_approval'], { intervalMs: 20 });
    if (waiting) await save(waiting, id);
    const attempt = await airlock.decideAs(id, { approver: 'bob', key: bobKey, decision, reason: 'fixture' });
    if (!attempt.accepted) throw new Error(`bob's ${decision} was refused`);
    await airlock.result(id);
    await save(name, id);
  };
  await worker.runUntil(async () => {
    const ended = async (name: string, id: string) => {
      await airlock.result(id);
      await save(name, id);
    };
    await ended(
      'auto-approved-succeeded',
      (await propose('crm.add_note_to_customer', { customerId: 'C-1001', note: 'fixture' })).id,
    );
    await ended(
      'dry-run-planned',
      (await propose('crm.update_customer', { customerId: 'C-1002', changes: { tier: 'gold' } }, { dryRun: true })).id,
    );
    await ended(
      'denied',
      (await propose('crm.add_note_to_customer', { customerId: 'C-1001', note: 'no' }, { user: 'mallory' })).id,
    );
    await decided(
      'approved-succeeded',
      { customerId: 'C-1003', changes: { phone: '+44 20 7946 0000', tier: 'gold' } },
      'approve',
      'awaiting-approval',
    );
    await decided('rejected', { customerId: 'C-1004', changes: { tier: 'silver' } }, 'reject');
    // A refund: decided on its plan's facts, counted by its task's usage ledger (whose history is recorded too).
    const refund = await propose('billing.refund_charge', { chargeId: 'ch_fixture0001', amount: 40 });
    await airlock.waitFor(refund.id, ['awaiting_approval'], { intervalMs: 20 });
    await save('refund-awaiting-approval', refund.id);
    const attempt = await airlock.decideAs(refund.id, { approver: 'bob', key: bobKey, decision: 'approve' });
    if (!attempt.accepted) throw new Error("bob's approval of the refund was refused");
    if ((await airlock.result(refund.id)).status !== 'succeeded') throw new Error('the refund did not succeed');
    await save('refund-approved-succeeded', refund.id);
    await new Promise((r) => setTimeout(r, 1000)); // the ledger asks the audit log how the refund ended
    await save('usage-ledger', usageLedgerId(taskQueue, 'billing.refund_charge'));
  });
  const out = process.argv[2];
  writeFileSync(
    out,
    JSON.stringify(
      {
        version: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
        codecKeys: JSON.parse(codecKeyFile),
        histories,
      },
      null,
      1,
    ),
  );
  await native.close();
  await crm.close();
  console.log('wrote', out, Object.keys(histories));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
