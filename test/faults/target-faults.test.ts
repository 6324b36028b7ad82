import { startProcessStack, type ProcessStack } from '../../stack/process-stack';
import { approveAll, auditOf, newTag, TASK_CASES, type TaskCase } from './support/effects';

// Targets, STS and Secrets Manager that fail the way they do in production, seen by a worker process: retried with
// backoff where another try may succeed (and as late as the target asks), never twice where the first may have
// acted, and never at all where it cannot help.
let s: ProcessStack;
/** One target call may take this long in this file's worker (30 s by default). */
const CALL_TIMEOUT_MS = 1500;

beforeAll(async () => {
  s = await startProcessStack();
  await s.startWorker({ AIRLOCK_TARGET_TIMEOUT_MS: String(CALL_TIMEOUT_MS) });
}, 180_000);
afterAll(async () => {
  await s?.close();
});

const task = (name: string): TaskCase => TASK_CASES.find((c) => c.task === name)!;
const note = task('crm.add_note_to_customer');

/** Proposes one action of `c`, approves it when it waits, and returns its end with its effects and attempts. */
async function run(c: TaskCase) {
  const tag = newTag();
  const { id } = await s.airlock.propose({ task: c.task, agent: c.agent, user: c.user, input: c.input(tag) });
  if (c.waits) await approveAll(s, id);
  const final = await s.airlock.result(id, { timeoutMs: 120_000 });
  const events = (await s.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const attempts = Math.max(0, ...events.map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0));
  const audit = await auditOf(s, id);
  return { id, tag, final, attempts, effects: await c.effects(s, id, tag), audit };
}

/** The requests a proxy saw that match `match`, from index `from` on. */
const seen = (proxy: keyof ProcessStack['proxies'], match: RegExp, from = 0) =>
  s.proxies[proxy].requests.slice(from).filter((r) => match.test(r.operation));

describe('the target', () => {
  test('answers 500 twice: retried with backoff, one effect', async () => {
    s.proxies.crm.failNext(note.write, 500, 2);
    const from = s.proxies.crm.requests.length;
    const r = await run(note);
    expect([r.final.status, r.effects, r.attempts]).toEqual(['succeeded', 1, 3]);
    expect(seen('crm', note.write, from).map((q) => q.status)).toEqual([500, 500, 201]);
    expect(r.audit.kinds.sort()).toEqual(['execution', 'final']);
  });

  test('answers 429 with Retry-After: the next try waits as long as it asked, not Temporal’s 1 s', async () => {
    s.proxies.crm.failNext(note.write, 429, 1, { headers: { 'retry-after': '4' } });
    const from = s.proxies.crm.requests.length;
    const r = await run(note);
    expect([r.final.status, r.effects]).toEqual(['succeeded', 1]);
    const [throttled, retried] = seen('crm', note.write, from);
    expect([throttled.status, retried.status]).toEqual([429, 201]);
    expect(retried.at - throttled.at).toBeGreaterThanOrEqual(4000);
  });

  test('refuses with 400: not retried, no effect, and the person is told what the target said', async () => {
    s.proxies.crm.failNext(note.write, 400, 1);
    const r = await run(note);
    expect([r.final.status, r.effects, r.attempts]).toEqual(['failed', 0, 1]);
    expect(r.final.error?.message).toMatch(/demo CRM refused POST \/customers\/C-1001\/notes: HTTP 400/);
  });

  test('resets the connection: retried, one effect', async () => {
    s.proxies.crm.resetNext(note.write, 2);
    const r = await run(note);
    expect([r.final.status, r.effects, r.attempts]).toEqual(['succeeded', 1, 3]);
  });

  // The call reaches the target, which acts, but answers after the call has been given up: the retry must be
  // recognised as the same (idempotency key, marker), never a second effect.
  describe.each(TASK_CASES.filter((c) => c.task !== 'support.send_email'))(
    'is slower than the call timeout: $task',
    (c) => {
      test('the retry is the same call: one effect', async () => {
        s.proxies[c.via].slowNext(c.write, CALL_TIMEOUT_MS + 2000, 1);
        const r = await run(c);
        expect([r.final.status, r.effects]).toEqual(['succeeded', 1]);
        expect(r.attempts).toBeGreaterThanOrEqual(2);
      });
    },
  );

  test('an email whose send got a 502 may have gone out: it is never sent again', async () => {
    const email = task('support.send_email');
    s.proxies.aws.failNext(/ SendEmail$/, 502, 1);
    const r = await run(email);
    expect([r.final.status, r.effects]).toEqual(['failed', 0]);
    expect(r.final.error?.message).toMatch(/may have been sent by an interrupted attempt/);
  });

  test('is slower than the call timeout for an email: it may have gone out, so it is never sent again', async () => {
    const email = task('support.send_email');
    s.proxies.aws.slowNext(/ SendEmail$/, CALL_TIMEOUT_MS + 2000, 1);
    const r = await run(email);
    expect([r.final.status, r.effects]).toEqual(['failed', 1]);
    expect(r.final.error?.message).toMatch(/may have been sent by an interrupted attempt/);
  });

  test('an email SES throttled (a 4xx) is sent on the next try: it certainly did not go out', async () => {
    const email = task('support.send_email');
    s.proxies.aws.failNext(/ SendEmail$/, 400, 1, { type: 'Throttling' });
    const r = await run(email);
    expect([r.final.status, r.effects, r.attempts]).toEqual(['succeeded', 1, 2]);
  });
});

describe('AWS STS and Secrets Manager', () => {
  const parameter = task('ops.set_parameter');

  test('STS answers 503 and throttles: the session is minted on a later try, one effect', async () => {
    const from = s.proxies.aws.requests.length;
    s.proxies.aws.failNext(/ AssumeRole$/, 503, 1);
    s.proxies.aws.failNext(/ AssumeRole$/, 400, 1, { type: 'Throttling' });
    const r = await run(note);
    expect([r.final.status, r.effects]).toEqual(['succeeded', 1]);
    // Asked again after each (by the worker's STS client, with its backoff, or by the activity's retry).
    expect(seen('aws', / AssumeRole$/, from).map((q) => q.status)).toEqual(expect.arrayContaining([503, 400, 200]));
  });

  test('Secrets Manager answers 500 and throttles: read on a later try, one effect', async () => {
    s.proxies.aws.failNext(/secretsmanager\.GetSecretValue/, 500, 1);
    s.proxies.aws.failNext(/secretsmanager\.GetSecretValue/, 400, 1, { type: 'ThrottlingException' });
    const r = await run(note);
    expect([r.final.status, r.effects]).toEqual(['succeeded', 1]);
  });

  test('the session expires mid-activity: the next try mints a new one and acts once', async () => {
    const from = s.proxies.aws.requests.length;
    s.proxies.aws.failNext(/AmazonSSM\.PutParameter/, 400, 1, { type: 'ExpiredTokenException' });
    const r = await run(parameter);
    expect([r.final.status, r.effects]).toEqual(['succeeded', 1]);
    expect(seen('aws', /AmazonSSM\.PutParameter/, from).map((q) => q.status)).toEqual([400, 200]);
    // Each try minted its own session.
    expect(seen('aws', / AssumeRole$/, from).length).toBeGreaterThanOrEqual(3);
  });

  test('STS refuses the role (access denied): not retried, nothing executed', async () => {
    s.proxies.aws.failNext(/ AssumeRole$/, 403, 1, { type: 'AccessDenied' });
    const r = await run(note);
    expect([r.final.status, r.effects]).toEqual(['failed', 0]);
  });
});
