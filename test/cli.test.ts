import { join } from 'node:path';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { actionIdFor } from '../client/action-id';
import { loadSigningKey } from '../crypto/signing-keys';
import { startHarness, type Harness } from './support/harness';
import { createDefaultRegistry } from '../tasks';
import { runAirlock, suiteCliEnv, type CliRun } from './support/cli';

let h: Harness;
beforeAll(async () => {
  // The CLI starts actions on the production task queue; this file's worker polls it.
  h = await startHarness({ taskQueue: AIRLOCK_TASK_QUEUE });
});
afterAll(async () => {
  await h?.close();
});

type Run = CliRun;
const airlock = (...args: string[]): Promise<Run> => runAirlock(args, { env: suiteCliEnv(h.keysDir) });
const json = (r: Run) => JSON.parse(r.stdout);

test('propose --wait runs a note to succeeded and exits 0; --json has id and status', async () => {
  const r = await airlock(
    'propose',
    'crm.add_note_to_customer',
    '--agent',
    'support-bot',
    '--user',
    'alice',
    '--input',
    '{"customerId":"C-1001","note":"via CLI"}',
    '--wait',
    '--json',
  );
  expect(r.code).toBe(0);
  expect(json(r)).toMatchObject({ id: expect.stringMatching(/^act-/), status: 'succeeded' });
  expect(h.crm.store.notes.map((n) => n.text)).toContain('via CLI');
});

test('an approver sees the action in pending, is refused when not permitted (exit 2), and approves (exit 0)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
  writeFileSync(
    join(dir, 'input.json'),
    '{"customerId":"C-1002","changes":{"phone":"+1 202 555 0199","tier":"silver"}}',
  );
  // Proposed twice below: the same key again is the same action.
  const proposal = [
    'propose',
    'crm.update_customer',
    '--agent',
    'support-bot',
    '--user',
    'alice',
    '--input',
    `@${join(dir, 'input.json')}`,
    '--key',
    'cli-1',
    '--json',
  ];
  const proposed = await airlock(...proposal);
  expect(proposed.code).toBe(0);
  const { id } = json(proposed);
  await h.airlock.waitFor(id, ['awaiting_approval']);

  const pending = await airlock('pending', '--json');
  expect(pending.code).toBe(0);
  expect(json(pending)).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        id,
        task: 'crm.update_customer',
        requester: 'alice',
        approvals: 0,
        approvalsRequired: 1,
      }),
    ]),
  );

  const shown = json(await airlock('show', id, '--json'));
  expect(shown).toMatchObject({
    id,
    task: 'crm.update_customer',
    status: 'awaiting_approval',
    risk: 'high',
    requester: 'alice',
    approvals: [],
    result: null,
    error: null,
  });
  expect(shown.plan.diff).toEqual([
    { path: 'phone', op: 'change', before: '+1 202 555 0102', after: '+1 202 555 0199' },
  ]);
  const human = await airlock('show', id);
  expect(human.stdout).toContain('~ phone');
  expect(human.stdout).not.toContain('\u001b['); // NO_COLOR

  const refused = await airlock('approve', id, '--as', 'mallory', '--plan', shown.plan.hash);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toContain('refused (not_permitted)');
  expect(h.crm.store.customers.get('C-1002')?.phone).toBe('+1 202 555 0102');

  const approved = await airlock('approve', id, '--as', 'bob', '--reason', 'ok', '--plan', shown.plan.hash, '--json');
  expect(approved.code).toBe(0);
  expect(json(approved)).toMatchObject({ approver: 'bob', accepted: true });
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  expect(h.crm.store.customers.get('C-1002')?.phone).toBe('+1 202 555 0199');

  const audit = await airlock('audit', id, '--json');
  expect(audit.code).toBe(0);
  const kinds = json(audit).map((e: { kind: string }) => e.kind);
  expect(kinds[0]).toBe('proposed');
  expect(kinds).toEqual(expect.arrayContaining(['decision_recorded', 'executed', 'finished']));
  expect((await airlock('audit', id)).stdout).toMatch(/approve by mallory REFUSED \(not_permitted\)/);

  // The same key again is the same action.
  const again = json(await airlock(...proposal));
  expect(again).toMatchObject({ id, existing: true, status: 'succeeded' });
});

test('reject needs a reason; a rejected action exits 3 for a proposer who waited', async () => {
  const waiting = airlock(
    'propose',
    'crm.update_customer',
    '--agent',
    'support-bot',
    '--user',
    'alice',
    '--input',
    '{"customerId":"C-1003","changes":{"tier":"gold"}}',
    '--key',
    'cli-2',
    '--wait',
    '--json',
  );
  const id = actionIdFor('support-bot', 'cli-2', loadSigningKey('support-bot', h.keysDir)); // known before the CLI prints it, to the agent's key
  await waitUntilStarted(id);
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const noReason = await airlock('reject', id, '--as', 'carol');
  expect(noReason.code).toBe(1);
  expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
  const { plan } = await h.airlock.get(id);
  expect((await airlock('reject', id, '--as', 'carol', '--reason', 'not verified', '--plan', plan!.hash)).code).toBe(0);
  const waited = await waiting;
  expect(waited.code).toBe(3);
  expect(json(waited)).toMatchObject({ id, status: 'rejected' });
  expect(h.crm.store.customers.get('C-1003')?.tier).toBe('bronze');
});

test('bad input gets a clear message and exit 1', async () => {
  const badJson = await airlock('propose', 'crm.add_note_to_customer', '--agent', 'support-bot', '--input', '{oops');
  expect(badJson.code).toBe(1);
  expect(badJson.stderr).toContain('--input is not valid JSON');
  const unknown = await airlock('show', 'act-doesnotexist');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('No action with id "act-doesnotexist"');
  const tasks = await airlock('tasks', '--json');
  expect(json(tasks).map((t: { name: string }) => t.name)).toEqual(createDefaultRegistry().names());
});

async function waitUntilStarted(id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (
      await h.client.workflow
        .getHandle(id)
        .describe()
        .then(
          () => true,
          () => false,
        )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`action ${id} was never started`);
}

test('keys new creates an Ed25519 key pair with a 0600 private key, prints the public key, and never overwrites', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cli-keys-'));
  const run = (...args: string[]) => runAirlock(args, { env: { ...process.env, AIRLOCK_KEYS_DIR: dir } });
  const created = await run('keys', 'new', 'dave', '--json');
  expect(created.code).toBe(0);
  const { publicKey, privateKeyPath } = JSON.parse(created.stdout);
  expect(publicKey).toMatch(/^ed25519:[A-Za-z0-9+/=]+$/);
  expect(statSync(privateKeyPath).mode & 0o777).toBe(0o600);
  expect(readFileSync(privateKeyPath, 'utf8')).toContain('PRIVATE KEY');
  const again = await run('keys', 'new', 'dave');
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('already exists');
  expect(JSON.parse((await run('keys', 'list', '--json')).stdout)).toEqual([{ name: 'dave', publicKey }]);
  expect(readFileSync(privateKeyPath, 'utf8')).toContain('PRIVATE KEY'); // untouched
});

test('an action awaiting reapproval shows in pending, and show tells the approver what changed since the approved plan', async () => {
  const { id } = json(
    await airlock(
      'propose',
      'crm.update_customer',
      '--agent',
      'support-bot',
      '--user',
      'alice',
      '--input',
      '{"customerId":"C-1004","changes":{"tier":"platinum"}}',
      '--json',
    ),
  );
  await h.airlock.waitFor(id, ['awaiting_approval']);
  h.crm.store.customers.get('C-1004')!.email = 'kj@nasa.example';
  expect((await airlock('approve', id, '--as', 'bob', '--plan', (await h.airlock.get(id)).plan!.hash)).code).toBe(0);
  await h.airlock.waitFor(id, ['awaiting_reapproval']);

  expect(json(await airlock('pending', '--json'))).toEqual(
    expect.arrayContaining([expect.objectContaining({ id, status: 'awaiting_reapproval', approvals: 0 })]),
  );
  const shown = (await airlock('show', id)).stdout;
  expect(shown).toContain('The target changed after plan');
  expect(shown).toMatch(
    /what changed at the target since[\s\S]*~ email[\s\S]*"katherine@example.com"[\s\S]*"kj@nasa.example"/,
  );
  expect(h.crm.store.customers.get('C-1004')?.tier).toBe('gold');

  expect((await airlock('approve', id, '--as', 'carol', '--plan', (await h.airlock.get(id)).plan!.hash)).code).toBe(0);
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  expect(h.crm.store.customers.get('C-1004')?.tier).toBe('platinum');
});

test('pending still lists an action whose worker is away, from its search attributes', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1005', changes: { tier: 'gold' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  await h.stopWorker();
  try {
    const r = await airlock('pending', '--json');
    expect(r.code).toBe(0);
    const row = json(r).find((p: { id: string }) => p.id === id);
    expect(row).toMatchObject({
      id,
      task: 'crm.update_customer',
      status: 'awaiting_approval',
      requester: 'alice',
      risk: 'high',
      unavailable: expect.any(String),
    });
    expect((await airlock('pending')).stdout).toContain('details unavailable');
    // show answers too, from what Temporal holds: search attributes, the memo, the history so far.
    const shown = await airlock('show', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/crm\.update_customer {2}\[high\] {2}awaiting_approval {2}by alice/);
    expect(shown.stdout).toContain('approvals 0/1');
    expect(shown.stdout).toContain('No worker answered for it within 5 s');
    expect(shown.stdout).toContain('support-bot for alice proposed crm.update_customer');
  } finally {
    await h.startWorker();
  }
});

test('list filters by status, task, agent and age, and pages through every match', async () => {
  const since = new Date(Date.now() - 1000);
  const ids: string[] = [];
  for (const note of ['one', 'two', 'three']) {
    const { id } = await h.airlock.propose({
      task: 'crm.add_note_to_customer',
      input: { customerId: 'C-1005', note },
      agent: 'support-bot',
      user: 'alice',
      dryRun: true,
    });
    ids.push(id);
  }
  for (const id of ids) expect((await h.airlock.result(id)).status).toBe('planned');
  const filters = [
    '--agent',
    'support-bot',
    '--task',
    'crm.add_note_to_customer',
    '--status',
    'planned,succeeded',
    '--since',
    since.toISOString(),
  ];
  for (
    let i = 0;
    i < 50 && (await h.airlock.list({ agent: 'support-bot', status: 'planned', since })).length < ids.length;
    i++
  )
    await new Promise((r) => setTimeout(r, 100));

  const first = json(await airlock('list', ...filters, '--limit', '2', '--json'));
  expect(first.actions).toHaveLength(2);
  expect(first.nextPageToken).toEqual(expect.any(String));
  const second = json(await airlock('list', ...filters, '--limit', '2', '--page', first.nextPageToken, '--json'));
  const seen = [...first.actions, ...second.actions].map((a: { id: string }) => a.id);
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen).toEqual(expect.arrayContaining(ids));
  for (const a of [...first.actions, ...second.actions])
    expect(a).toMatchObject({ task: 'crm.add_note_to_customer', agent: 'support-bot', status: 'planned' });
  // The human form says how to get the next page.
  expect((await airlock('list', ...filters, '--limit', '1')).stdout).toMatch(
    /more: airlock list .*--limit 1 --page \S+/,
  );
  expect(json(await airlock('list', '--agent', 'support-bot', '--before', '1h', '--json')).actions).toEqual([]);
  expect(
    json(await airlock('list', ...filters.slice(0, 4), '--before', since.toISOString(), '--json')).actions.map(
      (a: { id: string }) => a.id,
    ),
  ).not.toEqual(expect.arrayContaining([ids[0]]));

  // Filters are checked, never quoted into the query; and a message with "connect" in it is not an unreachable Temporal.
  const hostile = await airlock('list', '--task', "x' OR 'connect'='connect");
  expect([hostile.code, hostile.stderr]).toEqual([1, expect.stringContaining('is not a task name')]);
  expect(hostile.stderr).not.toContain('cannot reach');
  expect((await airlock('list', '--status', 'stale,bogus')).stderr).toContain('--status bogus: not a status');
  expect((await airlock('list', '--since', 'yesterday')).stderr).toContain('neither an age');
});

test('pending shows every waiting action oldest first, a page at a time, and an unknown action points to list', async () => {
  const ids: string[] = [];
  for (const phone of ['+1 555 0101', '+1 555 0102', '+1 555 0103']) {
    const { id } = await h.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: 'C-1001', changes: { phone, tier: 'gold' } },
      agent: 'support-bot',
      user: 'alice',
    });
    await h.airlock.waitFor(id, ['awaiting_approval']);
    ids.push(id);
  }
  const waiting = async () =>
    json(await airlock('pending', '--agent', 'support-bot', '--limit', '1000', '--json')).map(
      (r: { id: string }) => r.id,
    ) as string[];
  for (let i = 0; i < 50 && (await waiting()).filter((id) => ids.includes(id)).length < 3; i++)
    await new Promise((r) => setTimeout(r, 100));
  const all = await waiting();
  expect(all.filter((id) => ids.includes(id))).toEqual(ids); // oldest first
  const paged: string[] = [];
  for (let offset = 0; offset <= all.length; offset += 2) {
    paged.push(
      ...json(
        await airlock('pending', '--agent', 'support-bot', '--limit', '2', '--offset', String(offset), '--json'),
      ).map((r: { id: string }) => r.id),
    );
  }
  expect(paged).toEqual(all);
  expect((await airlock('pending', '--agent', 'support-bot', '--limit', '2')).stdout).toContain(
    `1–2 of ${all.length} pending, oldest first; next: airlock pending --offset 2`,
  );
  for (const id of ids) await h.decide(id, 'bob', 'reject', { reason: 'test cleanup' });
  const unknown = await airlock('show', 'act-doesnotexist');
  expect(unknown.stderr).toContain('Run `airlock pending` or `airlock list`');
});
