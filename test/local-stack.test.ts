import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/dev-config';
import { freePort } from '../stack/free-port';
import { runAirlock } from './support/cli';

// `npm start`'s stack, on free ports and a temporary state folder, started twice on the same database.
jest.setTimeout(240_000);

let ports: Record<'temporal' | 'ui' | 'moto' | 'crm' | 'codec' | 'stripe' | 'inbox', number>;
const stateDir = mkdtempSync(join(tmpdir(), 'airlock-stack-'));
const keysDir = join(stateDir, 'keys');
let stack: ChildProcess | undefined;
let output = '';

async function startStack(): Promise<void> {
  output = '';
  stack = spawn(process.execPath, [require.resolve('tsx/cli'), join(REPO_ROOT, 'stack', 'start-local-stack.ts')], {
    env: {
      ...process.env,
      AIRLOCK_STACK_DIR: stateDir,
      AIRLOCK_KEYS_DIR: keysDir,
      AIRLOCK_TEMPORAL_PORT: String(ports.temporal),
      AIRLOCK_UI_PORT: String(ports.ui),
      AIRLOCK_MOTO_PORT: String(ports.moto),
      AIRLOCK_CRM_PORT: String(ports.crm),
      AIRLOCK_CODEC_PORT: String(ports.codec),
      AIRLOCK_STRIPE_PORT: String(ports.stripe),
      AIRLOCK_INBOX_PORT: String(ports.inbox),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  stack.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 120_000;
  while (!output.includes('Airlock local stack is up.')) {
    if (stack.exitCode !== null || Date.now() > deadline) throw new Error(`the stack did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopStack(): Promise<void> {
  if (!stack || stack.exitCode !== null) return;
  const exited = new Promise((r) => stack!.once('exit', r));
  stack.kill('SIGINT');
  await exited;
}

const airlock = (...args: string[]) =>
  runAirlock([...args, '--json'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      AIRLOCK_KEYS_DIR: keysDir,
      AIRLOCK_CODEC_KEY_FILE: join(stateDir, 'codec-keys.json'),
    },
  });

beforeAll(async () => {
  ports = {
    temporal: await freePort(),
    ui: await freePort(),
    moto: await freePort(),
    crm: await freePort(),
    codec: await freePort(),
    stripe: await freePort(),
    inbox: await freePort(),
  };
});
afterAll(stopStack);

test('npm start brings up Temporal, moto, the demo CRM and the worker; a pending action survives a restart', async () => {
  await startStack();
  expect(output).toContain(`Temporal Web UI http://localhost:${ports.ui}`);
  expect(output).toContain(`demo CRM        http://127.0.0.1:${ports.crm}`);
  const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
  expect(ui.status).toBe(200);
  // The Web UI is wired to the codec server, which decodes with the token the stack wrote.
  const settings = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/settings`)).json()) as {
    Codec?: { Endpoint?: string };
  };
  expect(settings.Codec?.Endpoint).toBe(`http://127.0.0.1:${ports.codec}`);
  const codecToken = readFileSync(join(stateDir, 'codec-server-token'), 'utf8').trim();
  const decode = (auth?: string) =>
    fetch(`http://127.0.0.1:${ports.codec}/decode`, {
      method: 'POST',
      body: '{"payloads":[]}',
      headers: auth ? { authorization: auth } : {},
    });
  expect((await decode()).status).toBe(401);
  expect((await decode(`Bearer ${codecToken}`)).status).toBe(200);

  // The approval inbox is up: its pages need a session; an enrolment link comes from the CLI, which finds the stack
  // (and the inbox's address) through the profile npm start wrote.
  expect(output).toContain(`approval inbox  http://localhost:${ports.inbox}`);
  const inbox = await fetch(`http://127.0.0.1:${ports.inbox}/`, { redirect: 'manual' });
  expect([inbox.status, inbox.headers.get('location')]).toEqual([303, '/login']);
  expect((await fetch(`http://127.0.0.1:${ports.inbox}/login`)).headers.get('content-security-policy')).toContain(
    "script-src 'self'",
  );
  const invite = await runAirlock(['approvers', 'invite', 'bob', '--json'], {
    cwd: stateDir,
    env: { ...process.env, AIRLOCK_ENV_FILE: join(stateDir, 'local-stack.env'), AIRLOCK_KEYS_DIR: keysDir },
  });
  expect([invite.code, JSON.parse(invite.stdout).url]).toEqual([
    0,
    expect.stringMatching(new RegExp(`^http://localhost:${ports.inbox}/enrol#[A-Za-z0-9_-]{43}$`)),
  ]);

  const note = await airlock(
    'propose',
    'crm.add_note_to_customer',
    '--agent',
    'support-bot',
    '--user',
    'alice',
    '--input',
    '{"customerId":"C-1001","note":"hello from the stack test"}',
    '--wait',
  );
  expect(note.code).toBe(0);
  expect(JSON.parse(note.stdout)).toMatchObject({ status: 'succeeded', result: { output: { customerId: 'C-1001' } } });

  // The other targets are up and wired: a refund dry run reads the charge from stripe-mock; a parameter from moto.
  const refund = await airlock(
    'propose',
    'billing.refund_charge',
    '--agent',
    'support-bot',
    '--user',
    'alice',
    '--input',
    '{"chargeId":"ch_stacktest01","amount":25}',
    '--dry-run',
    '--wait',
  );
  expect([refund.code, JSON.parse(refund.stdout).plan?.summary]).toEqual([
    0,
    'Refund 0.25 USD of charge ch_stacktest01 (1.00 USD refundable)',
  ]);
  const flag = await airlock(
    'propose',
    'ops.set_parameter',
    '--agent',
    'ops-bot',
    '--input',
    '{"name":"/app/flags/stack-test","value":"on"}',
    '--dry-run',
    '--wait',
  );
  expect([flag.code, JSON.parse(flag.stdout).plan?.summary]).toEqual([0, 'Create /app/flags/stack-test = "on"']);

  const proposed = await airlock(
    'propose',
    'crm.update_customer',
    '--agent',
    'support-bot',
    '--user',
    'alice',
    '--input',
    '{"customerId":"C-1002","changes":{"tier":"gold"}}',
  );
  const { id } = JSON.parse(proposed.stdout);
  let status = '';
  for (let i = 0; i < 100 && status !== 'awaiting_approval'; i++) {
    status = JSON.parse((await airlock('show', id)).stdout).status;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(status).toBe('awaiting_approval');

  await stopStack();
  await startStack(); // same SQLite database

  const pending = JSON.parse((await airlock('show', id)).stdout);
  expect(pending.status).toBe('awaiting_approval');
  expect((await airlock('approve', id, '--as', 'bob', '--plan', pending.plan.hash)).code).toBe(0);
  let final: { status: string; result?: { output: { customer: { tier: string } } } } = { status: '' };
  for (let i = 0; i < 100 && final.status !== 'succeeded'; i++) {
    final = JSON.parse((await airlock('show', id)).stdout);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(final.status).toBe('succeeded');
  expect(final.result?.output.customer.tier).toBe('gold');
});
