/**
 * People are told when an action waits for them: an incoming webhook (Slack/Teams shape) and email through SES (moto),
 * when it starts waiting, as reminders, on escalation to a second group and before it expires, all on the action's
 * durable timers; the requester is told how it ended. A channel that fails is retried and never holds up the action;
 * nothing a task marks sensitive is sent; a workflow of a stranger's cannot make Airlock send anything.
 */
import { createServer, type Server } from 'node:http';
import { startHarness, type Harness } from './support/harness';
import { policiesWith } from './support/policies-with';
import { proposeRefundNeedingTwo } from './support/refunds';
import { startRogue } from './support/rogue';
import { auditTrail } from '../audit/audit-trail';

jest.setTimeout(90_000);

/** A webhook receiver on 127.0.0.1 that records what it is sent, and can fail the next requests. */
class Hook {
  readonly posts: { text: string }[] = [];
  failNext = 0;
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (this.failNext > 0) {
          this.failNext -= 1;
          res.statusCode = 500;
          return res.end('down');
        }
        this.posts.push(JSON.parse(body) as { text: string });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as { port: number }).port}/hooks/airlock`;
  }

  about(id: string): string[] {
    return this.posts.map((p) => p.text).filter((t) => t.includes(id));
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const INBOX = 'http://localhost:8235';
const hook = new Hook();
let h: Harness;

beforeAll(async () => {
  await hook.start();
  h = await startHarness({
    // Refunds: remind every 3 s, escalate to the group "leads" (carol) after 5 s, expire after 14 s.
    policiesDir: policiesWith(`@id("refunds-told-often")
@remind("3s")
@escalate_to("leads")
@escalate_after("5s")
@approval_timeout("14s")
permit (principal == Airlock::Agent::"support-bot", action == Airlock::Action::"billing.refund_charge", resource);`),
    notifications: { webhookUrl: hook.url, emailFrom: 'airlock@example.com', inboxUrl: INBOX },
  });
});
afterAll(async () => {
  await h?.close();
  await hook.close();
});

interface SentMail {
  subject: string;
  body: string;
  source: string;
  destinations: { ToAddresses: string[] };
}
async function mailAbout(id: string): Promise<SentMail[]> {
  const data = (await (await fetch(`${h.motoEndpoint}/moto-api/data.json`)).json()) as {
    ses?: { Message?: SentMail[] };
  };
  return (data.ses?.Message ?? []).filter((m) => m.body.includes(id));
}
const until = async <T>(what: () => Promise<T> | T, ok: (v: T) => boolean, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
};
const alice = { agent: 'support-bot', user: 'alice' };

test('a waiting refund: told at once, reminded, escalated to leads, warned before expiry; the requester learns it expired', async () => {
  const id = await proposeRefundNeedingTwo(h, 'ch_notify0001');
  const expired = await h.airlock.result(id, { timeoutMs: 40_000 });
  expect(expired.status).toBe('expired');
  const texts = await until(
    () => hook.about(id),
    (t) => t.some((x) => x.includes('has finished')),
  );
  const kinds = texts.map((t) =>
    t.includes('has finished')
      ? 'outcome'
      : t.includes('escalated')
        ? 'escalation'
        : t.includes('expires soon')
          ? 'expiring'
          : t.includes('still awaits')
            ? 'reminder'
            : 'waiting',
  );
  // Timers at 3, 5 (escalation), 6, 9, 10.5 (expiry warning), 12 s; then the outcome.
  expect(kinds).toEqual([
    'waiting',
    'reminder',
    'escalation',
    'reminder',
    'reminder',
    'expiring',
    'reminder',
    'outcome',
  ]);
  const first = texts[0];
  expect(first).toContain('billing.refund_charge requested by alice awaits your approval');
  expect(first).toContain('Refund 25.00 USD of charge ch_notify0001');
  expect(first).toContain('risk critical · 0/2 approval(s) · expires ');
  expect(first).toContain(`Review: ${INBOX}/actions/${id}`);
  expect(texts.at(-1)).toContain('status expired');
  // The audit tells the notification timers from the approval window's.
  const trail = (await auditTrail(h.client, id)).map((e) => e.kind);
  expect(trail.filter((k) => k === 'approval_window_opened')).toHaveLength(1);
  expect(trail.filter((k) => k === 'notification_timer').length).toBeGreaterThanOrEqual(6);

  const mail = await until(
    () => mailAbout(id),
    (m) => m.some((x) => x.destinations.ToAddresses.includes('alice@example.com')),
  );
  const to = (kind: string) =>
    mail
      .filter((m) => m.subject.includes(kind))
      .flatMap((m) => m.destinations.ToAddresses)
      .sort();
  // The eligible approvers (never alice, who asked; never mallory, whom no policy permits), the escalation group,
  // and the requester at the end. Every message comes from Airlock's own sender.
  expect(to('by alice awaits your approval')).toEqual(['bob@example.com', 'carol@example.com']);
  expect(to('escalated to you')).toEqual(['carol@example.com']);
  expect(to('has finished')).toEqual(['alice@example.com']);
  expect(new Set(mail.map((m) => m.source))).toEqual(new Set(['airlock@example.com']));
});

test('an approved action stops the reminders, and the requester is told it succeeded', async () => {
  const { id } = await h.airlock.propose({
    task: 'support.send_email',
    input: { to: 'lin@elsewhere.test', subject: 'Told and done', body: 'Hello' },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  await until(
    () => hook.about(id),
    (t) => t.length >= 1,
  );
  await h.approveAll(id);
  expect((await h.airlock.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
  const texts = await until(
    () => hook.about(id),
    (t) => t.some((x) => x.includes('has finished')),
  );
  expect(texts).toHaveLength(2);
  expect(texts[1]).toContain('status succeeded');
});

test('a plan that changed at the target after approval: approvers are told the new plan awaits them', async () => {
  let refunded = 100_000 - 1500; // 15.00 refundable: one approver
  h.stripe.patchAnswers(/^GET \/v1\/charges\/ch_notifygrow/, (charge) => ({
    ...charge,
    amount: 100_000,
    amount_refunded: refunded,
  }));
  const { id } = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId: 'ch_notifygrow01' },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  refunded = 100_000 - 2500; // 25.00 now: the approved plan is stale, and the new one needs two
  await h.decide(id, 'bob', 'approve');
  await h.airlock.waitFor(id, ['awaiting_reapproval']);
  const texts = await until(
    () => hook.about(id),
    (t) => t.some((x) => x.includes('changed at the target')),
  );
  const replanned = texts.find((x) => x.includes('changed at the target')) as string;
  expect(replanned).toContain('Refund 25.00 USD of charge ch_notifygrow01');
  expect(replanned).toContain('0/2 approval(s)');
});

test('a sensitive input value never leaves in a notification, and agent-written markup arrives escaped', async () => {
  const secret = 'https://hooks.internal/?token=s3cr3t-0123456789';
  const { id } = await h.airlock.propose({
    task: 'ops.set_parameter',
    input: { name: '/app/flags/notify-test', value: secret },
    agent: 'ops-bot',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const [text] = await until(
    () => hook.about(id),
    (t) => t.length >= 1,
  );
  expect(text).toContain('/app/flags/notify-test');
  expect(text).toContain('[sensitive]');
  expect(text).not.toContain('s3cr3t');

  const hostile = '<!channel> <script>alert(1)</script> & <https://evil.example|click here>';
  const { id: mailId } = await h.airlock.propose({
    task: 'support.send_email',
    input: { to: 'lin@elsewhere.test', subject: hostile, body: 'x' },
    ...alice,
  });
  await h.airlock.waitFor(mailId, ['awaiting_approval']);
  const [escaped] = await until(
    () => hook.about(mailId),
    (t) => t.length >= 1,
  );
  expect(escaped).toContain(
    '&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;https://evil.example|click here&gt;',
  );
  expect(escaped).not.toMatch(/<!channel>|<script>|<https:/);
});

test('a webhook that fails is retried, and the action goes on meanwhile', async () => {
  hook.failNext = 1;
  const { id } = await h.airlock.propose({
    task: 'support.send_email',
    input: { to: 'lin@elsewhere.test', subject: 'Webhook down', body: 'Hello' },
    ...alice,
  });
  // The first post fails; the action is awaiting its approver all the same.
  expect(await h.airlock.waitFor(id, ['awaiting_approval'])).toBe('awaiting_approval');
  const retried = await until(
    () => hook.about(id),
    (t) => t.length >= 1,
  );
  expect(hook.failNext).toBe(0);
  expect(retried).toEqual([expect.stringContaining('awaits your approval')]);
  await h.approveAll(id);
  expect((await h.airlock.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
});

test("a stranger's workflow scheduling notify on Airlock's queue sends nothing", async () => {
  const rogue = await startRogue();
  try {
    const before = hook.posts.length;
    const out = await rogue.call({
      encrypted: true,
      taskQueue: h.taskQueue,
      activity: 'notify',
      args: [{ kind: 'waiting' }],
    });
    expect(out).toMatchObject({ completed: false, type: 'AIRLOCK_EVIDENCE', nonRetryable: true });
    expect(hook.posts.length).toBe(before);
  } finally {
    await rogue.close();
  }
});
