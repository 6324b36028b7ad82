import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CredentialError } from '../common/errors';
import type { CredentialRecord } from '../common/types';
import type { SessionCredentials, TaskDefinition } from '../tasks/define-task';
import type { AwsSettings } from '../config/runtime-config';
import { buildSessionPolicy, sessionSteps } from './session-policy';
import { AssumeRoleRequestSchema } from './session-request';
import { z } from 'zod';
import { classifyTargetError } from '../tasks/kit';
import { DEFAULT_SESSION_SECONDS } from '../common/session-limits';

/** A minted session: credentials and secret values live only as long as the activity that holds them. */
export interface MintedSession {
  credentials: SessionCredentials;
  secrets: Record<string, string>;
  /**
   * For an execution of a task that reads its target back: the plan step's (read-only) secrets, by its logical names,
   * which only the read-back is handed.
   */
  readSecrets?: Record<string, string>;
  record: CredentialRecord;
  /** Every string that must never leave the activity: secret values and credential strings. */
  sensitive: string[];
}

/** What minting needs. */
export interface MintDeps {
  sts: STSClient;
  secretsClient: (credentials: SessionCredentials) => SecretsManagerClient;
  aws: AwsSettings;
  clock: () => Date;
  /** Told how long STS, and Secrets Manager (all the session's reads), took; it must not throw. */
  observe?: (service: 'sts' | 'secrets', ms: number) => void;
}

/**
 * Assumes the task's role with a session policy built from the task and its validated input, then reads the task's
 * secrets with that session. Must be called only inside the plan or execute activity; what it returns must not be
 * returned, logged or thrown.
 */
export async function mintSession(
  deps: MintDeps,
  args: {
    task: TaskDefinition;
    input: unknown;
    actionId: string;
    requester: string;
    mode: 'plan' | 'execute';
    /** Granted by policy; 900 s when not. */
    durationSeconds?: number;
  },
): Promise<MintedSession> {
  const { task, input, actionId, requester, mode } = args;
  const durationSeconds = args.durationSeconds ?? DEFAULT_SESSION_SECONDS;
  const roleArn = `arn:aws:iam::${deps.aws.accountId}:role/${task.credentials.role.name}`;
  const expiresAt = new Date(deps.clock().getTime() + durationSeconds * 1000);
  const policy = buildSessionPolicy(task, input, mode, { ...deps.aws, actionId }, expiresAt);
  // A step for which the task declares no permissions (say, the plan of an email) gets no session at all.
  if (!policy.Statement.length) return noSession(task);
  const checked = AssumeRoleRequestSchema.safeParse({
    RoleArn: roleArn,
    RoleSessionName: mode === 'execute' ? actionId : `${actionId}.plan`,
    DurationSeconds: durationSeconds,
    Policy: JSON.stringify(policy),
    SourceIdentity: requester,
    Tags: [
      { Key: 'airlock-task', Value: task.name },
      { Key: 'airlock-action', Value: actionId },
      { Key: 'airlock-mode', Value: mode },
    ],
  });
  if (!checked.success) {
    throw new CredentialError(`Airlock will not ask STS for this session: ${z.prettifyError(checked.error)}`, false);
  }
  const request = checked.data;
  const sessionName = request.RoleSessionName;
  let assumed;
  const stsStarted = performance.now();
  try {
    assumed = await deps.sts.send(new AssumeRoleCommand(request));
    deps.observe?.('sts', performance.now() - stsStarted);
  } catch (err) {
    // The same rule as every target call: throttling, 5xx and no answer at all may pass; a refusal will not.
    const failure = classifyTargetError(err);
    throw new CredentialError(
      `STS AssumeRole of ${roleArn} failed (${failure.message}). ` +
        'Check that the role exists and that the worker may assume it.',
      failure.retryable,
    );
  }
  const c = assumed.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new CredentialError(`STS AssumeRole of ${roleArn} returned no credentials.`, true);
  }
  const credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  const sensitive = [c.AccessKeyId, c.SecretAccessKey, c.SessionToken];

  const client = deps.secretsClient(credentials);
  const steps = sessionSteps(task, mode);
  const secrets: Record<string, string> = {};
  const readSecrets: Record<string, string> = {};
  const wanted = [
    ...Object.entries(steps.own.secrets ?? {}).map(([name, secretId]) => ({ into: secrets, name, secretId })),
    ...Object.entries(steps.readBack?.secrets ?? {}).map(([name, secretId]) => ({ into: readSecrets, name, secretId })),
  ];
  const secretsStarted = performance.now();
  try {
    // At once: an execution that reads back reads two secrets, and waits for one round trip.
    await Promise.all(
      wanted.map(async ({ into, name, secretId }) => {
        try {
          const value = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
          if (value.SecretString === undefined) {
            throw new CredentialError(
              `Secret ${secretId} has no string value; Airlock reads SecretString only.`,
              false,
            );
          }
          into[name] = value.SecretString;
          sensitive.push(value.SecretString);
        } catch (err) {
          if (err instanceof CredentialError) throw err;
          const failure = classifyTargetError(err);
          throw new CredentialError(
            `Reading secret ${secretId} with the action's session failed (${String((err as { name?: string }).name ?? failure.kind)}). ` +
              'Check that the secret exists and that the role may read it.',
            failure.retryable,
          );
        }
      }),
    );
  } finally {
    client.destroy();
  }
  deps.observe?.('secrets', performance.now() - secretsStarted);
  return {
    credentials,
    secrets,
    ...(steps.readBack ? { readSecrets } : {}),
    sensitive,
    record: {
      roleArn,
      sessionName,
      sourceIdentity: requester,
      expiresAt: c.Expiration.toISOString(),
      durationSeconds,
      secretIds: [...new Set(wanted.map((w) => w.secretId))],
    },
  };
}

/** For a step that needs no AWS access: credentials that refuse to be used, no secrets, nothing to record. */
export function noSession(task: TaskDefinition): MintedSession {
  const refuse = (): never => {
    throw new CredentialError(
      `Task ${task.name} declared no AWS permissions for this step, so it has no session; declare them in its credentials.`,
      false,
    );
  };
  return {
    credentials: Object.defineProperties({} as SessionCredentials, {
      accessKeyId: { get: refuse, enumerable: true },
      secretAccessKey: { get: refuse, enumerable: true },
      sessionToken: { get: refuse, enumerable: true },
    }),
    secrets: {},
    sensitive: [],
    record: { roleArn: '', sessionName: '', sourceIdentity: '', expiresAt: '', durationSeconds: 0, secretIds: [] },
  };
}
