import type { PolicyStatement, TaskDefinition } from '../tasks/define-task';
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

/** The one wildcard allowed in a session policy: the six random characters AWS appends to a secret's name. */
const SECRET_SUFFIX = /-\?{6}$/;

/**
 * The inline session policy of one step of one action: read exactly the step's secrets, plus the statements the
 * task asks for this input and action, each valid only until the session expires. STS intersects it with the role's policy, so the session
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
  const step = task.credentials[mode];
  const secretNames = Object.values(step.secrets ?? {});
  if (secretNames.length) {
    statements.push({
      Sid: 'ReadTaskSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secretNames.map((name) => secretArnPattern(aws.region, aws.accountId, name)),
    });
  }
  if (step.statements) statements.push(...step.statements(input, aws));
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
