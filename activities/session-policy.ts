import type { PolicyStatement, TaskDefinition } from '../tasks/define-task';

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
 * The inline session policy of one action: read exactly the task's secrets, plus the statements the task asks for
 * this input. STS intersects it with the role's policy, so the session can never do more than both allow.
 */
export function buildSessionPolicy(
  task: TaskDefinition,
  input: unknown,
  mode: 'plan' | 'execute',
  aws: { region: string; accountId: string },
): PolicyDocument {
  const statements: PolicyStatement[] = [];
  const secretNames = Object.values(task.credentials.secrets);
  if (secretNames.length) {
    statements.push({
      Sid: 'ReadTaskSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secretNames.map((name) => secretArnPattern(aws.region, aws.accountId, name)),
    });
  }
  const extra = mode === 'execute' ? task.credentials.executeStatements : task.credentials.planStatements;
  if (extra) statements.push(...extra(input, aws));
  return { Version: '2012-10-17', Statement: statements };
}
