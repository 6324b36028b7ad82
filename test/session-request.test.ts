import { AssumeRoleRequestSchema } from '../activities/session-request';
import { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import { loadDevConfig } from '../stack/dev-config';
import { createDefaultRegistry } from '../tasks';
import { policiesWith } from './support/policies-with';

const valid = {
  RoleArn: 'arn:aws:iam::123456789012:role/airlock-demo-crm',
  RoleSessionName: 'act-0123456789abcdef01234567',
  DurationSeconds: 900,
  Policy: '{"Version":"2012-10-17","Statement":[]}',
  SourceIdentity: 'alice',
  Tags: [
    { Key: 'airlock-task', Value: 'crm.update_customer' },
    { Key: 'airlock-action', Value: 'act-0123456789abcdef01234567' },
  ],
};
const problem = (change: Partial<typeof valid>) => {
  const r = AssumeRoleRequestSchema.safeParse({ ...valid, ...change });
  return r.success ? undefined : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

test('a request within STS limits and Airlock rules passes', () => {
  expect(problem({})).toBeUndefined();
  expect(problem({ DurationSeconds: 3600 })).toBeUndefined();
});

test.each([
  ['a session shorter than STS allows', { DurationSeconds: 600 }, /DurationSeconds: STS sessions last at least 900 s/],
  [
    'a session longer than one hour',
    { DurationSeconds: 3601 },
    /DurationSeconds: Airlock never asks for more than 1 h/,
  ],
  ['a session policy over 2,048 characters', { Policy: 'x'.repeat(2049) }, /Policy: STS takes at most 2048 characters/],
  ['a session name with a space', { RoleSessionName: 'act 1' }, /RoleSessionName/],
  ['a session name over 64 characters', { RoleSessionName: 'a'.repeat(65) }, /RoleSessionName/],
  ['a source identity starting with aws:', { SourceIdentity: 'aws:alice' }, /SourceIdentity/],
  ['a one-character source identity', { SourceIdentity: 'a' }, /SourceIdentity/],
  [
    'tags that do not name the action',
    { Tags: [{ Key: 'airlock-task', Value: 'crm.update_customer' }] },
    /tags must name the task and the action/,
  ],
])('%s is refused', (_name, change, message) => {
  expect(problem(change as Partial<typeof valid>)).toMatch(message);
});

test('policy may grant a longer execution session with @session_duration, within 15 min to 1 h', () => {
  const tasks = createDefaultRegistry().policyShapes();
  const people = loadDevConfig().approvers;
  const longer = policiesWith(
    `@id("slow-bot") @session_duration("30m")\npermit (principal == Airlock::Agent::"slow-bot", action == Airlock::Action::"crm.add_note_to_customer", resource);`,
  );
  const decision = CedarPolicyEngine.load(longer, tasks, people).decideProposal({
    agent: 'slow-bot',
    task: 'crm.add_note_to_customer',
    risk: 'low',
    target: 't',
  });
  expect(decision).toMatchObject({ decision: 'allow', sessionSeconds: 1800 });
  const usual = CedarPolicyEngine.load(longer, tasks, people).decideProposal({
    agent: 'support-bot',
    user: 'alice',
    task: 'crm.add_note_to_customer',
    risk: 'low',
    target: 't',
  });
  expect(usual.sessionSeconds).toBe(900);
  const tooLong = policiesWith(`@id("greedy") @session_duration("2h")\npermit (principal, action, resource);`);
  expect(() => CedarPolicyEngine.load(tooLong, tasks, people)).toThrow(/@session_duration must be between 15m and 1h/);
});
