import { readFileSync } from 'node:fs';
import { executionAttempt } from './support/execution-attempt';
import { GetParameterHistoryCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { readBackAfter } from '../activities/read-back';
import { formatAction } from '../client/cli/format';
import type { ActionState, ReadBackVerification } from '../common/types';
import { loadDevConfig } from '../stack/dev-config';
import { MOTO_ADMIN } from '../stack/moto';
import { defineTask, type TaskContext } from '../tasks/define-task';
import { runAirlock, suiteCliEnv } from './support/cli';
import { startHarness, type Harness } from './support/harness';

// What happened is what was planned: after the effect, each task reads its real target again (the demo CRM, SSM in
// moto, Stripe through stripe-mock) and the result says whether it holds the plan's `after`. A target changed behind
// Airlock's back between the effect and the read is flagged in the result, `show` and the audit; a read that fails
// leaves the action succeeded, its one effect done, and says it is not verified.
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const cfg = loadDevConfig();
const alice = { agent: 'support-bot', user: 'alice' };

/** Proposes, approves as many as policy asks, and waits for the end. */
async function run(task: string, input: unknown, who: { agent: string; user?: string } = alice): Promise<ActionState> {
  const { id } = await h.airlock.propose({ task, input, ...who, reason: 'read-back test' });
  await h.approveAll(id);
  return h.airlock.result(id, { timeoutMs: 60_000 });
}

/** The `executed` event of the action's final audit record, as the audit log holds it. */
function auditedExecution(id: string): { summary: string; data: { verification?: ReadBackVerification } } {
  const records = readFileSync(h.auditLogPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { actionId: string; kind?: string; events: { kind: string }[] });
  const final = records.find((r) => r.actionId === id && (r.kind ?? 'final') === 'final');
  const executed = final?.events.find((e) => e.kind === 'executed');
  if (!executed) throw new Error(`no final audit record with an execution for ${id}`);
  return executed as never;
}

const verificationOf = (state: ActionState) => state.result?.verification;
const matches = { status: 'matches', readAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) };

describe('crm.update_customer', () => {
  test('a normal execution reads the record back as planned', async () => {
    const final = await run('crm.update_customer', { customerId: 'C-1002', changes: { tier: 'gold' } });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(verificationOf(final)).toEqual(matches);
    expect(formatAction(final, false)).toContain('read back: the target holds what was planned');
    expect(auditedExecution(final.id).summary).toContain('read back: the target holds what was planned');
  });

  test('a record changed behind Airlock’s back after the effect is flagged in the result, show and the audit', async () => {
    // Someone else renames the customer between Airlock's write and its read, with characters a terminal would obey.
    h.crm.afterNextWrite(() => {
      h.crm.store.customers.get('C-1003')!.name = 'Alan\u001b[2J\u202eTuring';
    });
    const final = await run('crm.update_customer', { customerId: 'C-1003', changes: { tier: 'platinum' } });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(h.crm.store.customers.get('C-1003')!.tier).toBe('platinum');
    const planned = (final.plan?.after as { name: string }).name;
    expect(verificationOf(final)).toEqual({
      status: 'differs',
      differences: [{ path: 'name', planned, found: 'Alan\u001b[2J\u202eTuring' }],
      readAt: expect.any(String),
    });

    // `airlock show` and `airlock audit`, as a person runs them: the flag, the field, both values, escaped.
    const env = suiteCliEnv(h.keysDir);
    const [shown, audit] = await Promise.all([
      runAirlock(['show', final.id], { env }),
      runAirlock(['audit', final.id], { env }),
    ]);
    expect([shown.code, audit.code]).toEqual([0, 0]);
    expect(shown.stdout).toContain('succeeded  (read back differs from the plan)');
    expect(shown.stdout).toContain('READ BACK DIFFERS FROM THE PLAN: the target does not hold what was planned');
    expect(shown.stdout).toContain(`~ name: planned "${planned}", found "Alan\\u001b[2J\\u202eTuring"`);
    expect(audit.stdout).toContain(
      `READ BACK DIFFERS FROM THE PLAN: name: planned "${planned}", found "Alan\\u001b[2J\\u202eTuring"`,
    );
    for (const out of [shown.stdout, audit.stdout]) expect(out).not.toMatch(/[\u001b\u202e]/);
    // The audit log's record holds it too.
    expect(auditedExecution(final.id).summary).toContain('READ BACK DIFFERS FROM THE PLAN: name:');
    expect(auditedExecution(final.id).data.verification).toEqual(verificationOf(final));
  });
});

describe('crm.add_note_to_customer', () => {
  test('a normal execution reads the notes back as planned', async () => {
    const final = await run('crm.add_note_to_customer', { customerId: 'C-1004', note: 'read-back note one' });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(verificationOf(final)).toEqual(matches);
    expect(auditedExecution(final.id).data.verification).toEqual(matches);
  });

  test('a note edited behind Airlock’s back after the effect is reported at its path', async () => {
    h.crm.afterNextWrite(() => {
      h.crm.store.notes.at(-1)!.text = 'edited by someone else';
    });
    const final = await run('crm.add_note_to_customer', { customerId: 'C-1004', note: 'read-back note two' });
    expect(final.status).toBe('succeeded');
    expect(verificationOf(final)).toMatchObject({
      status: 'differs',
      differences: [{ path: 'newNote', planned: 'read-back note two', found: 'edited by someone else' }],
    });
    expect(formatAction(final, false)).toContain(
      '~ newNote: planned "read-back note two", found "edited by someone else"',
    );
  });

  test('a read that fails leaves the action succeeded, with one effect, unverified and not retried', async () => {
    const writes = h.crm.store.writes;
    // The CRM fails the next read once the note is written: the read-back's.
    h.crm.afterNextWrite(() => h.crm.failReads(503, 1));
    const final = await run('crm.add_note_to_customer', { customerId: 'C-1005', note: 'read-back note three' });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(h.crm.store.notes.filter((n) => n.text === 'read-back note three')).toHaveLength(1);
    expect(h.crm.store.writes).toBe(writes + 1);
    expect(await executionAttempt(h.client, final.id)).toBe(1);
    const verification = verificationOf(final);
    expect(verification?.status).toBe('unverified');
    expect(verification?.reason).toMatch(
      /^The demo CRM refused GET \/customers\/C-1005\/notes: HTTP 503 .*Check the target by hand\.$/,
    );
    expect(formatAction(final, false)).toContain('read back: not verified: The demo CRM refused GET');
  });
});

describe('ops.set_parameter', () => {
  const ssm = () => new SSMClient({ region: cfg.moto.region, endpoint: h.motoEndpoint, credentials: MOTO_ADMIN });
  /** Writes the parameter directly in moto, as someone other than Airlock. */
  async function putDirectly(name: string, value: string) {
    const client = ssm();
    try {
      await client.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
    } finally {
      client.destroy();
    }
  }
  async function history(name: string) {
    const client = ssm();
    try {
      return (await client.send(new GetParameterHistoryCommand({ Name: name }))).Parameters ?? [];
    } finally {
      client.destroy();
    }
  }
  const ops = { agent: 'ops-bot' };

  test('a normal execution reads the value back as planned', async () => {
    await putDirectly('/app/flags/read-back-1', 'off');
    const final = await run('ops.set_parameter', { name: '/app/flags/read-back-1', value: 'on' }, ops);
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(verificationOf(final)).toEqual(matches);
  });

  test('a value overwritten behind Airlock’s back after the effect is reported at its path', async () => {
    await putDirectly('/app/flags/read-back-2', 'off');
    // Airlock's PutParameter reaches moto; before its answer gets back, someone else writes another value.
    const held = h.awsFaults.hold(/AmazonSSM\.PutParameter /, 'after');
    const { id } = await h.airlock.propose({
      task: 'ops.set_parameter',
      input: { name: '/app/flags/read-back-2', value: 'on' },
      ...ops,
    });
    await h.approveAll(id);
    await held.reached;
    await putDirectly('/app/flags/read-back-2', 'tampered');
    held.release();
    const final = await h.airlock.result(id, { timeoutMs: 60_000 });
    expect(final.status).toBe('succeeded');
    expect(verificationOf(final)).toMatchObject({
      status: 'differs',
      differences: [{ path: 'value', planned: 'on', found: 'tampered' }],
    });
    expect((await history('/app/flags/read-back-2')).map((p) => p.Value)).toEqual(['off', 'on', 'tampered']);
  });

  test('a read that fails leaves the action succeeded, with one effect, unverified and not retried', async () => {
    await putDirectly('/app/flags/read-back-3', 'off');
    const held = h.awsFaults.hold(/AmazonSSM\.PutParameter /, 'after');
    const { id } = await h.airlock.propose({
      task: 'ops.set_parameter',
      input: { name: '/app/flags/read-back-3', value: 'on' },
      ...ops,
    });
    await h.approveAll(id);
    await held.reached;
    h.awsFaults.failNext(/AmazonSSM\.GetParameter /, 500, 1);
    held.release();
    const final = await h.airlock.result(id, { timeoutMs: 60_000 });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(await executionAttempt(h.client, id)).toBe(1);
    expect((await history('/app/flags/read-back-3')).map((p) => [p.Value, p.Description])).toEqual([
      ['off', undefined],
      ['on', `Set by Airlock action ${id}`],
    ]);
    expect(verificationOf(final)).toMatchObject({
      status: 'unverified',
      reason: expect.stringContaining('GetParameter'),
    });
  });
});

describe('billing.refund_charge', () => {
  /** Refunds Stripe would hold for a charge: each accepted request once per Idempotency-Key. */
  const refundedOf = (chargeId: string) => {
    const accepted = new Map<string, number>();
    for (const r of h.stripe.requests)
      if (r.method === 'POST' && r.path === '/v1/refunds' && r.status === 200) {
        const form = new URLSearchParams(r.body);
        if (form.get('charge') === chargeId)
          accepted.set(String(r.headers['idempotency-key']), Number(form.get('amount')));
      }
    return [...accepted.values()].reduce((a, b) => a + b, 0);
  };
  /** stripe-mock keeps no state: its answers for this charge are made to hold what Stripe would, plus `extra`. */
  const seedCharge = (chargeId: string, extra = 0) =>
    h.stripe.patchAnswers(new RegExp(`^GET /v1/charges/${chargeId}`), (charge) => {
      const refunded = refundedOf(chargeId);
      return { ...charge, id: chargeId, amount: 100, amount_refunded: refunded ? refunded + extra : 0 };
    });
  const reads = (chargeId: string) =>
    h.stripe.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/v1/charges/${chargeId}`));

  test('a normal execution reads the charge back as planned, with the read-only key', async () => {
    seedCharge('ch_readback0001');
    const final = await run('billing.refund_charge', { chargeId: 'ch_readback0001', amount: 40 });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(verificationOf(final)).toEqual(matches);
    // The read-back is the last read of the charge, after the refund, with the restricted read key (rk_), not the
    // secret key that moved the money.
    const refund = h.stripe.requests.findIndex(
      (r) =>
        r.method === 'POST' &&
        r.path === '/v1/refunds' &&
        new URLSearchParams(r.body).get('charge') === 'ch_readback0001',
    );
    const readBack = reads('ch_readback0001').at(-1)!;
    expect(h.stripe.requests.indexOf(readBack)).toBeGreaterThan(refund);
    expect(String(readBack.headers.authorization)).toMatch(/^Bearer rk_test_/);
    expect(String(h.stripe.requests[refund].headers.authorization)).toMatch(/^Bearer sk_test_/);
  });

  test('a charge refunded further behind Airlock’s back is reported at its paths', async () => {
    // Someone else refunded 0.30 of the same charge right after Airlock's refund.
    seedCharge('ch_readback0002', 30);
    const final = await run('billing.refund_charge', { chargeId: 'ch_readback0002', amount: 40 });
    expect(final.status).toBe('succeeded');
    expect(verificationOf(final)).toMatchObject({
      status: 'differs',
      differences: [
        { path: 'refunded', planned: 40, found: 70 },
        { path: 'remaining', planned: 60, found: 30 },
      ],
    });
    const shown = formatAction(final, false);
    expect(shown).toContain('READ BACK DIFFERS FROM THE PLAN');
    expect(shown).toContain('~ refunded: planned 40, found 70');
    expect(shown).toContain('~ remaining: planned 60, found 30');
  });

  test('a read that fails leaves the refund succeeded, made once, unverified and not retried', async () => {
    seedCharge('ch_readback0003');
    const held = h.stripe.hold(/^POST \/v1\/refunds/, 'after');
    const { id } = await h.airlock.propose({
      task: 'billing.refund_charge',
      input: { chargeId: 'ch_readback0003', amount: 40 },
      ...alice,
    });
    await h.approveAll(id);
    await held.reached;
    h.stripe.failNext(/^GET \/v1\/charges\/ch_readback0003/, 503, 1);
    held.release();
    const final = await h.airlock.result(id, { timeoutMs: 60_000 });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    expect(await executionAttempt(h.client, id)).toBe(1);
    const refunds = h.stripe.requests.filter(
      (r) =>
        r.method === 'POST' &&
        r.path === '/v1/refunds' &&
        new URLSearchParams(r.body).get('charge') === 'ch_readback0003',
    );
    expect(refunds.map((r) => [r.status, r.headers['idempotency-key']])).toEqual([[200, id]]);
    expect(verificationOf(final)).toMatchObject({ status: 'unverified', reason: expect.stringContaining('Stripe') });
  });
});

test('support.send_email says its target cannot be read back, rather than pretending', async () => {
  const final = await run('support.send_email', {
    to: 'ada@example.com',
    subject: 'Read-back test',
    body: 'Dear Ada, this is a test.',
  });
  expect([final.status, final.error]).toEqual(['succeeded', undefined]);
  expect(verificationOf(final)).toEqual({
    status: 'not_readable',
    reason: expect.stringContaining('SES keeps no copy of a sent message'),
  });
  expect(formatAction(final, false)).toContain('read back: not readable: SES keeps no copy');
});

describe('the read-back itself', () => {
  const Input = z.strictObject({ n: z.number() });
  const reading = (read: (input: { n: number }, ctx: TaskContext, executed: unknown) => Promise<unknown>) =>
    defineTask({
      name: 'test.read_back',
      description: 'A task whose read-back the test chooses.',
      risk: 'low',
      inputSchema: Input,
      examples: [{ n: 1 }],
      target: () => 'test:nothing',
      credentials: { role: { name: 'test', description: 'none', grants: () => [] }, plan: {}, execute: {} },
      plan: async () => ({ summary: '', sideEffects: [], before: null, after: null }),
      execute: async () => ({}),
      readBack: { read, ignore: ['updatedAt'] },
    });
  const args = { input: { n: 1 }, ctx: {} as TaskContext, executed: {}, clock: () => new Date('2026-11-24T12:00:00Z') };

  test('a read slower than its budget, or one that throws at once, leaves the execution unverified; ignored fields are left out', async () => {
    const slow = await readBackAfter({
      ...args,
      task: reading(() => new Promise(() => undefined)),
      plan: { after: { n: 1 } },
      budgetMs: 50,
    });
    expect(slow).toEqual({
      status: 'unverified',
      reason: 'the target did not answer the read within 0.05 s. Check the target by hand.',
    });
    const throwing = await readBackAfter({
      ...args,
      task: reading(() => {
        throw new Error('no such record');
      }),
      plan: { after: { n: 1 } },
    });
    expect(throwing).toEqual({ status: 'unverified', reason: 'no such record. Check the target by hand.' });
    const ignoring = await readBackAfter({
      ...args,
      task: reading(async () => ({ n: 1, updatedAt: 'just now' })),
      plan: { after: { n: 1 } },
    });
    expect(ignoring).toEqual({ status: 'matches', readAt: '2026-11-24T12:00:00.000Z' });
    const noPlan = await readBackAfter({ ...args, task: reading(async () => ({ n: 1 })), plan: undefined });
    expect(noPlan).toMatchObject({ status: 'unverified', reason: expect.stringContaining('not at hand') });
  });

  test('a task that declares a target not readable must say why', () => {
    expect(() =>
      defineTask({ ...reading(async () => null), readBack: { notReadable: ' ' } } as Parameters<typeof defineTask>[0]),
    ).toThrow(/say why its target cannot be read back/);
  });
});
