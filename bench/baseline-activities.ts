import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEMO_CRM_CREDENTIALS, DEMO_CRM_READ_TOKEN_SECRET, DEMO_CRM_TOKEN_SECRET } from '../tasks/crm/demo-crm-client';

/** Where the baseline with sessions gets its credentials: the same STS and Secrets Manager as Airlock's worker. */
export interface BaselineAws {
  region: string;
  endpoint: string;
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * The baselines' activities: POST the note with a token the activity already holds (no policy, no plan, no STS); and
 * the same with the calls Airlock's guarantees cost, and nothing else: a read-only session (AssumeRole with a session
 * policy, the read token from Secrets Manager with it), a read of the customer, an execute session and the write.
 */
export function createBaselineActivities(crmUrl: string, token: string, http: typeof fetch = fetch, aws?: BaselineAws) {
  const post = async (customerId: string, note: string, idempotencyKey: string, bearer: string) => {
    const res = await http(`${crmUrl}/customers/${customerId}/notes`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify({ text: note }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  const sts = aws && new STSClient({ region: aws.region, endpoint: aws.endpoint, credentials: aws.credentials });
  /** A session like one of Airlock's (not tagged as Airlock's: the benchmark attributes those by their tags). */
  const secretWithSession = async (sessionName: string, secretId: string): Promise<string> => {
    if (!aws || !sts) throw new Error('the baseline with sessions needs AWS settings');
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${aws.accountId}:role/${DEMO_CRM_CREDENTIALS.role.name}`,
        RoleSessionName: sessionName,
        DurationSeconds: 900,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: `*${secretId}*` }],
        }),
        Tags: [{ Key: 'bench-baseline', Value: sessionName }],
      }),
    );
    const c = assumed.Credentials;
    const secrets = new SecretsManagerClient({
      region: aws.region,
      endpoint: aws.endpoint,
      credentials: {
        accessKeyId: c!.AccessKeyId!,
        secretAccessKey: c!.SecretAccessKey!,
        sessionToken: c!.SessionToken,
      },
    });
    try {
      return (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString as string;
    } finally {
      secrets.destroy();
    }
  };
  return {
    async postNote(customerId: string, note: string, idempotencyKey: string): Promise<unknown> {
      return post(customerId, note, idempotencyKey, token);
    },
    async postNoteWithSessions(customerId: string, note: string, idempotencyKey: string): Promise<unknown> {
      const readToken = await secretWithSession(`${idempotencyKey}.plan`, DEMO_CRM_READ_TOKEN_SECRET);
      // The plan's two reads, as the task makes them.
      for (const path of [`/customers/${customerId}`, `/customers/${customerId}/notes`]) {
        const read = await http(`${crmUrl}${path}`, { headers: { authorization: `Bearer ${readToken}` } });
        if (!read.ok) throw new Error(`HTTP ${read.status}`);
        await read.json();
      }
      return post(customerId, note, idempotencyKey, await secretWithSession(idempotencyKey, DEMO_CRM_TOKEN_SECRET));
    },
  };
}

/** The baseline activities, for `import type` in the workflow. */
export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
