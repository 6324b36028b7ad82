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
  /** Where the audit log is: a JSON Lines file, or a DynamoDB table. */
  audit: AuditStoreConfig;
  codecKeys: CodecKeys;
  /** The Secrets Manager secret of the workers' own key, when not the default. */
  workerKeySecret?: string;
  /** Where people are told that actions wait (all optional; none configured tells nobody). */
  notifications: NotificationSettings;
  /** `AIRLOCK_WORKFLOW_BUNDLE`: a workflow bundle built ahead (`bundleWorkflowCode`), so the worker starts at once. */
  workflowBundlePath?: string;
  /** `AIRLOCK_MAX_CACHED_WORKFLOWS`: workflows kept in memory (see DEFAULT_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows?: number;
  /** `AIRLOCK_TARGET_TIMEOUT_MS`: how long one target call may take before it is retried. */
  targetTimeoutMs?: number;
}

/**
 * Which audit log the worker appends to: a JSON Lines file (`AIRLOCK_AUDIT_LOG`, optionally with a checkpoint file,
 * `AIRLOCK_AUDIT_CHECKPOINT`), for one host or shared storage; or a DynamoDB table (`AIRLOCK_AUDIT_TABLE`) with its
 * checkpoint table (`AIRLOCK_AUDIT_CHECKPOINT_TABLE`), for workers on any number of hosts.
 */
export type AuditStoreConfig =
  | { kind: 'file'; path: string; checkpointPath?: string }
  | { kind: 'dynamodb'; table: string; checkpointTable: string };

/** The audit log from the environment: exactly one of a file and a table, with what each needs. */
export function auditStoreConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AuditStoreConfig {
  const { AIRLOCK_AUDIT_LOG: file, AIRLOCK_AUDIT_TABLE: table } = env;
  const { AIRLOCK_AUDIT_CHECKPOINT: checkpointFile, AIRLOCK_AUDIT_CHECKPOINT_TABLE: checkpointTable } = env;
  if (file && table)
    throw new ConfigError(
      'Both AIRLOCK_AUDIT_LOG (a file) and AIRLOCK_AUDIT_TABLE (a DynamoDB table) are set; the audit log is one or the other. Unset one: AIRLOCK_AUDIT_TABLE for workers on several hosts, AIRLOCK_AUDIT_LOG for one.',
    );
  if (table) {
    if (checkpointFile)
      throw new ConfigError(
        'AIRLOCK_AUDIT_CHECKPOINT is a checkpoint file, for the file audit log; with AIRLOCK_AUDIT_TABLE set AIRLOCK_AUDIT_CHECKPOINT_TABLE instead.',
      );
    if (!checkpointTable || checkpointTable === table)
      throw new ConfigError(
        `AIRLOCK_AUDIT_TABLE is set, but AIRLOCK_AUDIT_CHECKPOINT_TABLE ${checkpointTable ? 'names the same table' : 'is not'}: set it to a second table, where each append records the log's newest record so that removing records from the end is detected (\`airlock audit create-tables\` creates both).`,
      );
    return { kind: 'dynamodb', table, checkpointTable };
  }
  if (!file)
    throw new ConfigError(
      'No audit log is configured: set AIRLOCK_AUDIT_LOG to a file (one host, or shared storage) or AIRLOCK_AUDIT_TABLE and AIRLOCK_AUDIT_CHECKPOINT_TABLE to DynamoDB tables (workers on several hosts).',
    );
  if (checkpointTable)
    throw new ConfigError(
      'AIRLOCK_AUDIT_CHECKPOINT_TABLE goes with AIRLOCK_AUDIT_TABLE; for the file audit log set AIRLOCK_AUDIT_CHECKPOINT to a checkpoint file.',
    );
  if (checkpointFile && resolve(checkpointFile) === resolve(file))
    throw new ConfigError('AIRLOCK_AUDIT_CHECKPOINT must be another file than AIRLOCK_AUDIT_LOG.');
  return { kind: 'file', path: resolve(file), ...(checkpointFile ? { checkpointPath: resolve(checkpointFile) } : {}) };
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
  AIRLOCK_AUDIT_LOG:
    'the audit log: a JSON Lines file, or AIRLOCK_AUDIT_TABLE and AIRLOCK_AUDIT_CHECKPOINT_TABLE for DynamoDB tables',
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
    AIRLOCK_AUDIT_LOG: env.AIRLOCK_AUDIT_LOG || env.AIRLOCK_AUDIT_TABLE,
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
    audit: auditStoreConfigFromEnv(env),
    codecKeys: codecKeys as CodecKeys,
    workerKeySecret: env.AIRLOCK_WORKER_KEY_SECRET || undefined,
    notifications: notificationSettingsFromEnv(env),
    ...(env.AIRLOCK_WORKFLOW_BUNDLE ? { workflowBundlePath: resolve(env.AIRLOCK_WORKFLOW_BUNDLE) } : {}),
    ...optionalCount(env, 'AIRLOCK_MAX_CACHED_WORKFLOWS', 'maxCachedWorkflows', 0),
    ...optionalCount(env, 'AIRLOCK_TARGET_TIMEOUT_MS', 'targetTimeoutMs', 100),
  };
}

/** A whole number from the environment, at least `min`, under `key`; absent when the variable is not set. */
function optionalCount<K extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  key: K,
  min: number,
): Partial<Record<K, number>> {
  const raw = env[name];
  if (raw === undefined || raw === '') return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`${name} is "${raw}"; it must be a whole number of at least ${min}. Fix it or unset it.`);
  return { [key]: n } as Partial<Record<K, number>>;
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
