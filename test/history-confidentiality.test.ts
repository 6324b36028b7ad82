import { auditTrail } from '../audit/audit-trail';
import { ALL_TASKS, type TaskDefinition } from '../tasks';
import type { ActionState } from '../common/types';
import { ACTION_STATUSES } from '../common/statuses';
import { runAirlock, suiteCliEnv } from './support/cli';
import { startHarness, type Harness } from './support/harness';
import { sessionsOf } from './support/moto-sessions';
import { policiesWith } from './support/policies-with';
import { rawHistoryText } from './support/raw-history';
import { testEnv } from './support/test-env';

// Every registered task through success, policy denial, rejection, target error and retry; then every history is
// read raw (no codec) and decoded, with the worker's logs, the CLI's output and the error messages.
jest.setTimeout(180_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    policiesDir: policiesWith(`
@id("careful-bot-anything-with-one-approval")
permit (principal == Airlock::Agent::"careful-bot", action in Airlock::Action::"task", resource is Airlock::Target)
when { context.approvals >= 1 };`),
  });
});
afterAll(async () => {
  await h?.close();
});

const tasks: TaskDefinition[] = ALL_TASKS;
/** Leaf string values of a JSON value (long enough that random ciphertext cannot contain them by chance). */
const leaves = (v: unknown): string[] =>
  typeof v === 'string'
    ? v.length >= 5
      ? [v]
      : []
    : v && typeof v === 'object'
      ? Object.values(v).flatMap(leaves)
      : [];

/** Whether `value` occurs in `text` not merely as part of a longer word or number. */
const standsIn = (text: string, value: string): boolean =>
  new RegExp(`(?<![A-Za-z0-9])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9])`).test(text);

/** Makes the target refuse the task's next write: the demo CRM by itself, AWS targets through the harness's proxy. */
function failNextWrite(task: string, status: number): void {
  if (task.startsWith('crm.')) h.crm.failWrites(status, 1);
  else if (task.startsWith('billing.')) h.stripe.failNext(/^POST \/v1\/refunds/, status, 1);
  // Any AWS target: its next call, whatever the service (credentials and secrets are Airlock's own calls, not the target's).
  else h.awsFaults.failNext(/^(?!.*(AssumeRole|secretsmanager))/i, status, 1);
}

const cli = async (...args: string[]): Promise<string> => (await runAirlock(args, { env: suiteCliEnv(h.keysDir) })).out;

describe.each(tasks.map((task) => ({ name: task.name, task })))('$name', ({ task }) => {
  const input = task.examples[0];
  const finals: ActionState[] = [];

  async function run(
    agent: string,
    decide?: (id: string) => Promise<unknown>,
    before?: () => void,
  ): Promise<ActionState> {
    const { id } = await h.airlock.propose({
      task: task.name,
      input,
      agent,
      user: 'alice',
      reason: 'confidentiality test',
    });
    if (decide) {
      await h.airlock.waitFor(id, ['awaiting_approval']);
      before?.();
      await decide(id);
    }
    const final = await h.airlock.result(id);
    finals.push(final);
    return final;
  }

  test('success, denial, rejection, target error and retry end as they should', async () => {
    const approve = (id: string) => h.approveAll(id);
    expect((await run('careful-bot', approve)).status).toBe('succeeded');
    expect((await run('other-bot')).status).toBe('denied');
    expect((await run('careful-bot', (id) => h.decide(id, 'bob', 'reject', { reason: 'not now' }))).status).toBe(
      'rejected',
    );
    const failed = await run('careful-bot', approve, () => failNextWrite(task.name, 400));
    expect([failed.status, failed.error?.type]).toEqual(['failed', 'AIRLOCK_TARGET_ERROR']);
    const retried = await run('careful-bot', approve, () => failNextWrite(task.name, 503));
    expect(retried.status).toBe('succeeded');
    expect((await auditTrail(h.client, retried.id)).filter((e) => e.kind === 'executed')).toHaveLength(1);
  });

  test('raw histories hold no input value, output value, secret or credential', async () => {
    const secret = testEnv('crmToken');
    for (const final of finals) {
      const raw = await rawHistoryText(h.client, final.id);
      expect(raw).toContain(task.name); // readable text: what is absent is really absent
      const forbidden = [
        ...leaves(input),
        // Status words are Airlock's own vocabulary (search attributes), not the target's data.
        ...leaves(final.result?.output).filter((v) => !(ACTION_STATUSES as readonly string[]).includes(v)),
        ...leaves(final.plan?.before),
        ...leaves(final.plan?.after),
        secret,
        ...(await sessionsOf(h.motoEndpoint, final.id)).flatMap((s) => [
          s.access_key_id,
          s.secret_access_key,
          s.session_token,
        ]),
      ];
      expect(forbidden.length).toBeGreaterThanOrEqual(2); // at least an input value and the secret
      // A value counts where it stands as a word of its own ("normal" is not in "normalName", one of Temporal's fields).
      for (const value of forbidden)
        expect([final.status, value, standsIn(raw, value)]).toEqual([final.status, value, false]);
    }
  });

  test('decoded histories, audit trails, worker logs, CLI output and errors hold no secret or credential', async () => {
    const secrets = [testEnv('crmToken')];
    for (const final of finals) {
      for (const s of await sessionsOf(h.motoEndpoint, final.id))
        secrets.push(s.access_key_id, s.secret_access_key, s.session_token);
    }
    const texts: [string, string][] = [['worker logs', h.logs.join('\n')]];
    for (const final of finals) {
      texts.push([`state ${final.id}`, JSON.stringify(await h.airlock.get(final.id))]);
      texts.push([`audit ${final.id}`, JSON.stringify(await auditTrail(h.client, final.id))]);
      texts.push([`cli ${final.id}`, (await cli('show', final.id, '--json')) + (await cli('audit', final.id))]);
      texts.push([`error ${final.id}`, final.error?.message ?? '']);
    }
    expect(texts.find(([name]) => name.startsWith('cli'))![1]).toContain(task.name); // the CLI could decode
    expect(h.logs.some((l) => /injected[ _]fault/.test(l))).toBe(true); // the target errors were logged, and are searched below
    for (const [name, text] of texts) {
      for (const secret of secrets) expect([name, text.includes(secret)]).toEqual([name, false]);
    }
  });
});
