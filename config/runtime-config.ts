import { resolve } from 'node:path';
import { ConfigError } from '../common/errors';
import { codecKeysFromEnv, type CodecKeys } from '../crypto/encryption-codec';
import { temporalTargetFromEnv, type TemporalTarget } from './temporal-connection';

/** Where the worker's AWS calls go and which account its roles are in. */
export interface AwsSettings {
  region: string;
  /** A custom endpoint (moto in development and tests); unset in production. */
  endpoint?: string;
  accountId: string;
}

/** Everything a worker process is configured with. */
export interface WorkerConfig {
  temporal: TemporalTarget;
  aws: AwsSettings;
  /** Target base URLs by name, from `AIRLOCK_ENDPOINT_<NAME>` (e.g. `AIRLOCK_ENDPOINT_DEMO_CRM` → `demo-crm`). */
  endpoints: Record<string, string>;
  policiesDir: string;
  approversFile: string;
  agentsFile: string;
  auditLogPath: string;
  codecKeys: CodecKeys;
  /** The Secrets Manager secret of the workers' own key, when not the default. */
  workerKeySecret?: string;
  /** Where people are told that actions wait (all optional; none configured tells nobody). */
  notifications: NotificationSettings;
}

/** Notification settings: an incoming webhook, a sender address for SES, and the inbox's address for links. */
export interface NotificationSettings {
  /** `AIRLOCK_NOTIFY_WEBHOOK_URL`: a Slack or Teams incoming webhook (a secret: whoever has it can post). */
  webhookUrl?: string;
  /** `AIRLOCK_NOTIFY_EMAIL_FROM`: a sender SES has verified; people are emailed at their approvers-file address. */
  emailFrom?: string;
  /** `AIRLOCK_INBOX_URL`: the inbox's address, for links to action pages. */
  inboxUrl?: string;
}

/** Notification settings from the environment; a webhook or inbox address that is not an http(s) URL is refused. */
export function notificationSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NotificationSettings {
  const url = (name: string) => {
    const value = env[name];
    if (!value) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(`${name} is not a URL; give the full address, e.g. https://hooks.slack.com/services/…`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      throw new ConfigError(`${name} must be an http(s) URL.`);
    return value;
  };
  return {
    ...(url('AIRLOCK_NOTIFY_WEBHOOK_URL') ? { webhookUrl: env.AIRLOCK_NOTIFY_WEBHOOK_URL } : {}),
    ...(env.AIRLOCK_NOTIFY_EMAIL_FROM ? { emailFrom: env.AIRLOCK_NOTIFY_EMAIL_FROM } : {}),
    ...(url('AIRLOCK_INBOX_URL') ? { inboxUrl: env.AIRLOCK_INBOX_URL } : {}),
  };
}

/** What each required variable is, for the message that names the missing ones. */
const REQUIRED: Record<string, string> = {
  TEMPORAL_ADDRESS: 'the Temporal frontend, host:port (or TEMPORAL_PROFILE with an address)',
  AWS_REGION: 'the AWS region of the task roles and secrets',
  AIRLOCK_AWS_ACCOUNT_ID: 'the 12-digit AWS account the task roles live in',
  AIRLOCK_POLICIES_DIR: 'the Cedar policies directory (policies, schema, entities)',
  AIRLOCK_APPROVERS_FILE: 'the approvers file (people, public keys, groups)',
  AIRLOCK_AGENTS_FILE: 'the agents file (agents, public keys, owners)',
  AIRLOCK_AUDIT_LOG: 'the audit log (JSON Lines, hash-chained)',
  AIRLOCK_CODEC_KEY_FILE: 'the payload encryption key file (or AIRLOCK_CODEC_KEYS with its JSON)',
};

/**
 * The worker's configuration, from the environment alone.
 *
 * Contract: it must not fall back to the local stack (moto, the repository's files) for anything: a worker started
 * without configuration names every missing variable and does not start. `npm start` sets them all for its worker.
 */
export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const temporal = temporalTargetFromEnv(env);
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const codecKeys = codecKeysFromEnv(env);
  const present: Record<string, unknown> = {
    TEMPORAL_ADDRESS: temporal.address,
    AWS_REGION: region,
    AIRLOCK_AWS_ACCOUNT_ID: env.AIRLOCK_AWS_ACCOUNT_ID,
    AIRLOCK_POLICIES_DIR: env.AIRLOCK_POLICIES_DIR,
    AIRLOCK_APPROVERS_FILE: env.AIRLOCK_APPROVERS_FILE,
    AIRLOCK_AGENTS_FILE: env.AIRLOCK_AGENTS_FILE,
    AIRLOCK_AUDIT_LOG: env.AIRLOCK_AUDIT_LOG,
    AIRLOCK_CODEC_KEY_FILE: codecKeys,
  };
  const missing = Object.keys(REQUIRED).filter((name) => !present[name]);
  if (missing.length) {
    throw new ConfigError(
      `The worker is not configured: ${missing.map((name) => `${name} (${REQUIRED[name]})`).join('; ')} ${missing.length === 1 ? 'is' : 'are'} not set. ` +
        'Set them (README, "Configuration (worker, CLI and SDK)"), or run the local stack with `npm start`, which configures its own worker.',
    );
  }
  if (!/^\d{12}$/.test(env.AIRLOCK_AWS_ACCOUNT_ID as string)) {
    throw new ConfigError(
      `AIRLOCK_AWS_ACCOUNT_ID is "${env.AIRLOCK_AWS_ACCOUNT_ID}"; it must be the 12-digit AWS account id of the task roles.`,
    );
  }
  return {
    temporal,
    aws: {
      region: region as string,
      endpoint: env.AWS_ENDPOINT_URL || undefined,
      accountId: env.AIRLOCK_AWS_ACCOUNT_ID as string,
    },
    endpoints: endpointsFromEnv(env),
    policiesDir: resolve(env.AIRLOCK_POLICIES_DIR as string),
    approversFile: resolve(env.AIRLOCK_APPROVERS_FILE as string),
    agentsFile: resolve(env.AIRLOCK_AGENTS_FILE as string),
    auditLogPath: resolve(env.AIRLOCK_AUDIT_LOG as string),
    codecKeys: codecKeys as CodecKeys,
    workerKeySecret: env.AIRLOCK_WORKER_KEY_SECRET || undefined,
    notifications: notificationSettingsFromEnv(env),
  };
}

/** Target endpoints by name from `AIRLOCK_ENDPOINT_<NAME>` (e.g. `AIRLOCK_ENDPOINT_DEMO_CRM` → `demo-crm`). */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const endpoints: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^AIRLOCK_ENDPOINT_([A-Z0-9_]+)$/.exec(key);
    if (m && value) endpoints[m[1].toLowerCase().replace(/_/g, '-')] = value;
  }
  return endpoints;
}
