import type { PolicyStatement, StepCredentials, TaskDefinition } from '../tasks/define-task';
import { TaskDefinitionError } from '../common/errors';

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** ARN pattern of a Secrets Manager secret by name: AWS appends a dash and six random characters. */
export function secretArnPattern(region: string, accountId: string, name: string): string {
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-??????`;
}

/**
 * What a session of `mode` carries: the step's own grants, and for an execution of a task that reads its target back,
 * the plan step's grants too (read-only by contract), which only the read-back is handed. One session, no second
 * AssumeRole: the read is made as the execution ends.
 */
export function sessionSteps(
  task: TaskDefinition,
  mode: 'plan' | 'execute',
): { own: StepCredentials<unknown>; readBack?: StepCredentials<unknown> } {
  const readsBack = mode === 'execute' && task.readBack !== undefined && 'read' in task.readBack;
  return { own: task.credentials[mode], ...(readsBack ? { readBack: task.credentials.plan } : {}) };
}

/** The one wildcard allowed in a session policy: the six random characters AWS appends to a secret's name. */
const SECRET_SUFFIX = /-\?{6}$/;

/**
 * The inline session policy of one step of one action: read exactly the step's secrets, plus the statements the
 * task asks for this input and action (and, for an execution, its read-back's: see {@link sessionSteps}), each valid
 * only until the session expires. STS intersects it with the role's policy, so the session
 * can never do more than both allow.
 * @throws TaskDefinitionError when a task asks for a wildcard action or resource.
 */
export function buildSessionPolicy(
  task: TaskDefinition,
  input: unknown,
  mode: 'plan' | 'execute',
  aws: { region: string; accountId: string; actionId: string },
  expiresAt: Date,
): PolicyDocument {
  const statements: PolicyStatement[] = [];
  const { own, readBack } = sessionSteps(task, mode);
  const secretNames = [...new Set([...Object.values(own.secrets ?? {}), ...Object.values(readBack?.secrets ?? {})])];
  if (secretNames.length) {
    statements.push({
      Sid: 'ReadTaskSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secretNames.map((name) => secretArnPattern(aws.region, aws.accountId, name)),
    });
  }
  if (own.statements) statements.push(...own.statements(input, aws));
  // Named apart from the step's own statements (a policy's Sids are unique), and said to be the read-back's.
  if (readBack?.statements)
    statements.push(...readBack.statements(input, aws).map((s, i) => ({ ...s, Sid: `ReadBack${s.Sid ?? i + 1}` })));
  for (const statement of statements) {
    for (const action of [statement.Action].flat()) {
      if (action.includes('*'))
        throw new TaskDefinitionError(`Task ${task.name} asks for "${action}": name each action it needs.`);
    }
    for (const resource of [statement.Resource].flat()) {
      if (/[*?]/.test(resource.replace(SECRET_SUFFIX, ''))) {
        throw new TaskDefinitionError(
          `Task ${task.name} asks for "${resource}": name the exact resource of this action.`,
        );
      }
    }
    // Belt and braces: the statement itself stops at the session's expiry, should the credentials outlive it.
    if (statement.Effect === 'Allow') {
      statement.Condition = { ...statement.Condition, DateLessThan: { 'aws:CurrentTime': expiresAt.toISOString() } };
    }
  }
  return { Version: '2012-10-17', Statement: statements };
}
