import { randomBytes } from 'node:crypto';
import { CreateRoleCommand, GetRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { DevConfig } from './dev-config';
import { ALL_TASKS } from '../tasks';
import type { TaskDefinition } from '../tasks/define-task';
import { taskProvisioning } from '../tasks/task-provisioning';
import { motoServerPath } from './tools';
import { startChildService, type ChildService } from './child-service';
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Credentials for talking to moto as its administrator (moto accepts any). */
export const MOTO_ADMIN = { accessKeyId: 'moto-admin', secretAccessKey: 'moto-admin' };

/** A running moto server. */
export interface Moto extends ChildService {
  endpoint: string;
}

/** Starts `moto_server` on 127.0.0.1:port and waits until it answers. */
export async function startMoto(port: number, opts: { log?: (line: string) => void } = {}): Promise<Moto> {
  const endpoint = `http://127.0.0.1:${port}`;
  const service = await startChildService({
    name: 'moto_server',
    command: motoServerPath(),
    args: ['-H', '127.0.0.1', '-p', String(port)],
    url: endpoint,
    ready: async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok,
    log: opts.log,
  });
  return { ...service, endpoint };
}

/**
 * Seeds moto with what the tasks need (their roles, the secrets their steps read, their tables and SES identities:
 * see `task-provisioning.ts`) and the secrets of `temporal-dev.yml`; idempotent. Returns secret values by name
 * (generated ones are random, kept by moto for its lifetime).
 */
export async function seedMoto(
  endpoint: string,
  cfg: DevConfig['moto'],
  opts: { tasks?: readonly TaskDefinition[]; overrides?: Record<string, string> } = {},
): Promise<Record<string, string>> {
  const overrides = opts.overrides ?? {};
  const needs = taskProvisioning(opts.tasks ?? ALL_TASKS, cfg);
  const secrets = [
    ...needs.secrets
      .filter((t) => !cfg.secrets.some((c) => c.name === t.name))
      .map((t) => ({ ...t, generate: true, value: undefined })),
    ...cfg.secrets,
  ];
  const common = { region: cfg.region, endpoint, credentials: MOTO_ADMIN };
  const iam = new IAMClient(common);
  const sm = new SecretsManagerClient(common);
  const ses = new SESClient(common);
  const ddb = new DynamoDBClient(common);
  try {
    for (const role of needs.roles) {
      const exists = await iam.send(new GetRoleCommand({ RoleName: role.name })).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await iam.send(
          new CreateRoleCommand({
            RoleName: role.name,
            Description: role.description,
            AssumeRolePolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { AWS: `arn:aws:iam::${cfg.accountId}:root` },
                  Action: role.trustedActions,
                },
              ],
            }),
          }),
        );
      }
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: role.name,
          PolicyName: 'airlock-role-policy',
          PolicyDocument: JSON.stringify(role.policy),
        }),
      );
    }
    for (const identity of [...needs.emailIdentities, ...cfg.emailIdentities])
      await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: identity }));
    for (const table of needs.tables) {
      await ddb
        .send(
          new CreateTableCommand({
            TableName: table.name,
            KeySchema: [{ AttributeName: table.key, KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: table.key, AttributeType: 'S' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        )
        .catch((err: { name?: string }) => {
          if (err.name !== 'ResourceInUseException') throw err;
        });
    }
    const values: Record<string, string> = {};
    for (const secret of secrets) {
      const existing = await sm.send(new GetSecretValueCommand({ SecretId: secret.name })).then(
        (r) => r.SecretString,
        () => undefined,
      );
      if (existing !== undefined && overrides[secret.name] === undefined) {
        values[secret.name] = existing;
        continue;
      }
      const value =
        overrides[secret.name] ??
        secret.value ??
        (secret.generate ? `${secret.prefix}${randomBytes(24).toString('hex')}` : undefined);
      if (value === undefined)
        throw new Error(`temporal-dev.yml: secret ${secret.name} needs a value or generate: true.`);
      if (existing === undefined)
        await sm.send(
          new CreateSecretCommand({ Name: secret.name, Description: secret.description, SecretString: value }),
        );
      else await sm.send(new PutSecretValueCommand({ SecretId: secret.name, SecretString: value }));
      values[secret.name] = value;
    }
    return values;
  } finally {
    iam.destroy();
    sm.destroy();
    ses.destroy();
    ddb.destroy();
  }
}
