import type { AwsAccount, PolicyStatement, TaskContext } from '../define-task';

/**
 * Configuration of an AWS SDK client that acts with this action's own session (and moto's endpoint in development).
 * The SDK does not retry: Temporal retries the activity, and `callTarget` says whether it may.
 */
export function awsClientConfig(ctx: TaskContext) {
  return {
    region: ctx.aws.region,
    endpoint: ctx.aws.endpoint,
    credentials: ctx.aws.credentials,
    maxAttempts: 1,
    // Without throwOnRequestTimeout the SDK only warns and goes on waiting.
    ...(ctx.callTimeoutMs
      ? { requestHandler: { requestTimeout: ctx.callTimeoutMs, throwOnRequestTimeout: true } }
      : {}),
  };
}

/** A role grant to read the secrets under `prefix` (e.g. `airlock/stripe/`): Secrets Manager adds a suffix to ARNs. */
export function readSecretsUnder(aws: AwsAccount, prefix: string): PolicyStatement {
  return {
    Effect: 'Allow',
    Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    Resource: `arn:aws:secretsmanager:${aws.region}:${aws.accountId}:secret:${prefix}*`,
  };
}
