import type { TaskContext } from './define-task';

/** Configuration for an AWS SDK client that acts with this action's own session (and moto's endpoint in development). */
export function awsClientConfig(ctx: TaskContext) {
  return { region: ctx.aws.region, endpoint: ctx.aws.endpoint, credentials: ctx.aws.credentials, maxAttempts: 1 };
}

/** Turns an AWS SDK error into a TargetError-friendly description and whether retrying can help. */
export function awsErrorInfo(err: unknown): { message: string; status?: number; retryable: boolean } {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return {
    message: `${e.name ?? 'Error'}: ${e.message ?? String(err)}`,
    status,
    retryable: status === undefined || status >= 500 || e.name === 'ThrottlingException' || e.name === 'Throttling',
  };
}
