import { z } from 'zod';
import { defineTask } from '../tasks/define-task';
import { createDefaultRegistry } from '../tasks';
import { DEMO_CRM_CREDENTIALS, DEMO_CRM_TOKEN_SECRET } from '../tasks/crm/demo-crm-client';
import { REDACTED, redact, redactError } from '../crypto/redact';
import { TargetError } from '../common/errors';
import { startHarness, type Harness } from './support/harness';
import { sessionsOf } from './support/moto-sessions';
import { rawHistoryText } from './support/raw-history';
import { policiesWith } from './support/policies-with';
import { testEnv } from './support/test-env';

/** A deliberately careless task: it returns the secret and fails with it in the message. */
const EchoSecretSchema = z.strictObject({ fail: z.boolean() });
const echoSecret = defineTask({
  name: 'test.echo_secret',
  description: 'Test only: leaks its secret in output and errors, so that redaction can be seen to work.',
  risk: 'low',
  inputSchema: EchoSecretSchema,
  examples: [{ fail: false }],
  target: () => 'test:echo',
  // Both steps read the read-write token here, so that both can be seen to keep it inside.
  credentials: {
    role: DEMO_CRM_CREDENTIALS.role,
    plan: { secrets: { token: DEMO_CRM_TOKEN_SECRET } },
    execute: { secrets: { token: DEMO_CRM_TOKEN_SECRET } },
  },
  plan: async (_input, ctx) => ({
    summary: `would echo ${ctx.secrets.token}`,
    sideEffects: [],
    before: null,
    after: { echoed: ctx.secrets.token },
  }),
  execute: async (input, ctx) => {
    if (input.fail)
      throw new TargetError(
        `target said no to token ${ctx.secrets.token} with key ${ctx.aws.credentials.secretAccessKey}`,
        400,
        false,
      );
    return { echoed: ctx.secrets.token, header: `Bearer ${ctx.secrets.token}`, key: ctx.aws.credentials.accessKeyId };
  },
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    registry: createDefaultRegistry().register(echoSecret),
    policiesDir: policiesWith(
      `@id("test-echo")\npermit (principal == Airlock::Agent::"test-bot", action == Airlock::Action::"test.echo_secret", resource);`,
    ),
  });
});
afterAll(async () => {
  await h?.close();
});

const token = () => testEnv('crmToken');

/** Every credential string moto minted for the action. */
async function credentialStrings(id: string): Promise<string[]> {
  const sessions = await sessionsOf(h.motoEndpoint, id);
  expect(sessions.length).toBeGreaterThan(0);
  return sessions.flatMap((s) => [s.access_key_id, s.secret_access_key, s.session_token]);
}

test('neither the secret nor any minted credential appears in the history of a real CRM action', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1001', changes: { tier: 'gold' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const { plan } = await h.airlock.get(id);
  await h.decide(id, 'bob', 'approve', { planHash: plan!.hash });
  expect((await h.airlock.result(id)).status).toBe('succeeded');

  const history = await rawHistoryText(h.client, id);
  expect(history).toContain('crm.update_customer'); // the raw text is readable: the absences below mean something
  expect(history).not.toContain('C-1001'); // payloads are encrypted
  expect(history).not.toContain(token());
  for (const credential of await credentialStrings(id)) expect(history).not.toContain(credential);
});

test('a secret the task returns is redacted from the result and absent from history', async () => {
  const { id } = await h.airlock.propose({ task: 'test.echo_secret', input: { fail: false }, agent: 'test-bot' });
  const final = await h.airlock.result(id);
  expect(final.status).toBe('succeeded');
  expect(final.result?.output).toEqual({ echoed: REDACTED, header: `Bearer ${REDACTED}`, key: REDACTED });
  expect(final.plan?.summary).toBe(`would echo ${REDACTED}`);

  const history = await rawHistoryText(h.client, id);
  expect(history).not.toContain(token());
  for (const credential of await credentialStrings(id)) expect(history).not.toContain(credential);
});

test('a secret in an error message is redacted from the failure and absent from history', async () => {
  const { id } = await h.airlock.propose({ task: 'test.echo_secret', input: { fail: true }, agent: 'test-bot' });
  const final = await h.airlock.result(id);
  expect(final.status).toBe('failed');
  expect(final.error?.type).toBe('AIRLOCK_TARGET_ERROR');
  expect(final.error?.message).toContain(`target said no to token ${REDACTED} with key ${REDACTED}`);

  const history = await rawHistoryText(h.client, id);
  expect(history).not.toContain(token());
  for (const credential of await credentialStrings(id)) expect(history).not.toContain(credential);
});

test('redaction also catches a secret base64- or URL-encoded, and in the causes of an error', () => {
  const secret = 'sk_test_s3cr3t/with+odd=chars';
  const forms = [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    encodeURIComponent(secret),
    Buffer.from(`user:${secret}`).toString('base64'),
  ];
  const out = redact(
    { basic: `Basic ${forms[1]}`, url: `https://x.example/?key=${forms[3]}`, raw: forms[0], b64url: forms[2] },
    [secret],
  );
  expect(JSON.stringify(out)).not.toContain(secret);
  for (const form of forms.slice(0, 4)) expect(JSON.stringify(out)).not.toContain(form);
  const cause = new Error(`upstream said: bad key ${secret}`);
  const err = redactError(new Error('call failed', { cause }), [secret]);
  expect(String((err.cause as Error).message)).toBe(`upstream said: bad key ${REDACTED}`);
  expect((err.cause as Error).stack).not.toContain(secret);
});
