import { GetParameterCommand, GetParameterHistoryCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { executionAttempt } from './support/execution-attempt';
import { loadDevConfig } from '../stack/dev-config';
import { MOTO_ADMIN } from '../stack/moto';
import { startHarness, type Harness } from './support/harness';

// Every task against its real target: through approval to an effect read back from the target, a dry run that
// changes nothing, and an execution whose first result is lost (a worker crash after the effect) producing one effect.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ crashAfterFirstExecution: true });
});
afterAll(async () => {
  await h?.close();
});

const cfg = loadDevConfig();
const ssm = () => new SSMClient({ region: cfg.moto.region, endpoint: h.motoEndpoint, credentials: MOTO_ADMIN });
async function sentMail(): Promise<
  { body: string; subject: string; source: string; destinations: { ToAddresses: string[] } }[]
> {
  const data = (await (await fetch(`${h.motoEndpoint}/moto-api/data.json`)).json()) as { ses?: { Message?: never[] } };
  return data.ses?.Message ?? [];
}
async function parameterHistory(name: string) {
  const client = ssm();
  try {
    return (await client.send(new GetParameterHistoryCommand({ Name: name }))).Parameters ?? [];
  } catch {
    return [];
  } finally {
    client.destroy();
  }
}

interface Case {
  task: string;
  agent: string;
  user?: string;
  input: Record<string, unknown>;
  /** A snapshot of what the target holds that this action would change. */
  effect: () => Promise<unknown>;
  /** How many approvals the shipped policy asks of this input. */
  approvals: number;
  /** Checks the target after the action ran once. */
  check: (before: unknown, after: unknown, actionId: string) => void;
  /** What reading the target back after the effect finds. */
  readBack: 'matches' | 'differs' | 'not_readable';
}

const refundRequests = () => h.stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');

const cases: Case[] = [
  {
    task: 'billing.refund_charge',
    agent: 'support-bot',
    user: 'alice',
    input: { chargeId: 'ch_effecttest0001', amount: 40, reason: 'requested_by_customer' },
    approvals: 1,
    // stripe-mock keeps no state: the charge reads back unrefunded, as the plan did not say it would be.
    readBack: 'differs',
    effect: async () => refundRequests().length,
    // stripe-mock keeps no state: what it can show is that it accepted the request as valid for Stripe's API, and that
    // every attempt carried the action id as Idempotency-Key, which is how Stripe makes a retry the same refund.
    check: (before, _after, id) => {
      const sent = refundRequests().slice(before as number);
      expect(sent.length).toBeGreaterThanOrEqual(1);
      for (const r of sent) {
        expect(r.status).toBe(200);
        expect(r.headers['idempotency-key']).toBe(id);
        expect(new URLSearchParams(r.body).get('amount')).toBe('40');
        expect(new URLSearchParams(r.body).get('charge')).toBe('ch_effecttest0001');
      }
      expect(new Set(sent.map((r) => r.body)).size).toBe(1);
    },
  },
  {
    task: 'crm.add_note_to_customer',
    agent: 'support-bot',
    user: 'alice',
    input: { customerId: 'C-1001', note: 'effect test note' },
    approvals: 0,
    readBack: 'matches',
    effect: async () => h.crm.store.notes.filter((n) => n.text === 'effect test note').length,
    check: (before, after) => expect([before, after]).toEqual([0, 1]),
  },
  {
    task: 'crm.update_customer',
    agent: 'support-bot',
    user: 'alice',
    input: { customerId: 'C-1002', changes: { email: 'hopper@navy.example' } },
    approvals: 1,
    readBack: 'matches',
    effect: async () => ({ email: h.crm.store.customers.get('C-1002')!.email, writes: h.crm.store.writes }),
    check: (before, after) => {
      expect((after as { email: string }).email).toBe('hopper@navy.example');
      expect((after as { writes: number }).writes).toBe((before as { writes: number }).writes + 1);
    },
  },
  {
    task: 'ops.set_parameter',
    agent: 'ops-bot',
    input: { name: '/app/flags/effect-test', value: 'on' },
    approvals: 1,
    readBack: 'matches',
    effect: async () => (await parameterHistory('/app/flags/effect-test')).map((p) => p.Value),
    check: (before, after) => expect([before, after]).toEqual([['off'], ['off', 'on']]),
  },
  {
    task: 'support.send_email',
    agent: 'support-bot',
    user: 'alice',
    input: { to: 'ada@example.com', subject: 'Effect test quote', body: 'Dear Ada, your quote is ready.' },
    approvals: 0,
    readBack: 'not_readable',
    effect: async () => (await sentMail()).filter((m) => m.subject === 'Effect test quote'),
    check: (before, after) => {
      expect(before).toEqual([]);
      expect(after).toEqual([
        expect.objectContaining({
          source: 'support@example.com',
          body: 'Dear Ada, your quote is ready.',
          destinations: { ToAddresses: ['ada@example.com'] },
        }),
      ]);
    },
  },
];

beforeAll(async () => {
  const client = ssm();
  await client.send(
    new PutParameterCommand({ Name: '/app/flags/effect-test', Value: 'off', Type: 'String', Overwrite: true }),
  );
  client.destroy();
});

describe.each(cases)('$task', (c) => {
  test('a dry run shows the change and changes nothing', async () => {
    const before = await c.effect();
    const { id } = await h.airlock.propose({
      task: c.task,
      input: c.input,
      agent: c.agent,
      user: c.user,
      dryRun: true,
    });
    const final = await h.airlock.result(id);
    expect([final.status, final.error]).toEqual(['planned', undefined]);
    expect(final.plan?.diff.length).toBeGreaterThan(0);
    expect(await c.effect()).toEqual(before);
  });

  test('through approval to one real effect, even though the first execution’s result was lost', async () => {
    const before = await c.effect();
    const { id } = await h.airlock.propose({
      task: c.task,
      input: c.input,
      agent: c.agent,
      user: c.user,
      reason: 'effect test',
    });
    await h.approveAll(id);
    const final = await h.airlock.result(id, { timeoutMs: 60_000 });
    expect([final.status, final.error]).toEqual(['succeeded', undefined]);
    // As many approvers as policy asks of what this input does: a small refund one, an email within example.com none.
    expect([final.approvalsRequired, final.approvedBy.length]).toEqual([c.approvals, c.approvals]);
    c.check(before, await c.effect(), id);
    // The execution really ran twice (its first result was lost), and the target saw one effect.
    expect(await executionAttempt(h.client, id)).toBe(2);
    // The retry read the target back against the approved plan (which the first attempt left it) or recorded why not.
    expect(final.result?.verification?.status).toBe(c.readBack);
  });
});

test('a refund of more than remains is refused at plan, and nothing reaches Stripe but the read', async () => {
  const before = refundRequests().length;
  const { id } = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: 'ch_effecttest0002', amount: 101 },
    agent: 'support-bot',
    user: 'alice',
  });
  const final = await h.airlock.result(id);
  expect(final.status).toBe('failed');
  expect(final.error?.message).toContain('only 100 of 100 remains refundable');
  expect(refundRequests().length).toBe(before);
  expect(final.transitions.map((t) => t.status)).not.toContain('awaiting_approval');
});

test('an SSM parameter outside /app/ is refused at validation', async () => {
  const { id } = await h.airlock.propose({
    task: 'ops.set_parameter',
    input: { name: '/prod/db/password', value: 'x' },
    agent: 'ops-bot',
  });
  const final = await h.airlock.result(id);
  expect(final.status).toBe('invalid');
  expect(final.issues?.[0].message).toContain('under /app/');
  const client = ssm();
  await expect(client.send(new GetParameterCommand({ Name: '/prod/db/password' }))).rejects.toMatchObject({
    name: 'ParameterNotFound',
  });
  client.destroy();
});

test('a refund without an amount refunds what its plan found (and was approved and counted), on every attempt', async () => {
  const before = refundRequests().length;
  const { id } = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: 'ch_effecttest0003' },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const waiting = await h.airlock.get(id);
  // stripe-mock's charges are 1.00 with nothing refunded: the plan finds 100 cents to refund, and policy decides on it.
  expect(waiting.policy?.planFacts).toMatchObject({ amount: 100, currency: 'usd', amountHundredths: 100 });
  await h.approveAll(id);
  const final = await h.airlock.result(id, { timeoutMs: 60_000 });
  expect(final.status).toBe('succeeded');
  const sent = refundRequests().slice(before);
  // Its first result was lost (a crash after the effect): both attempts sent the same amount and key.
  expect(sent.length).toBeGreaterThanOrEqual(2);
  for (const r of sent) {
    expect(new URLSearchParams(r.body).get('amount')).toBe('100');
    expect(r.headers['idempotency-key']).toBe(id);
  }
});
