import { resolve } from 'node:path';
import { loadDevConfig, REPO_ROOT } from '../stack/dev-config';

/** Where the worker's AWS calls go and which account its roles are in. */
export interface AwsSettings {
  region: string;
  /** A custom endpoint (moto in development and tests); unset in production. */
  endpoint?: string;
  accountId: string;
}

/** AWS settings from the environment, falling back to the local stack's moto. */
export function awsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const dev = loadDevConfig();
  const endpoint = env.AWS_ENDPOINT_URL ?? (env.AIRLOCK_AWS_REAL === '1' ? undefined : `http://${dev.moto.ip}:${dev.moto.port}`);
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? dev.moto.region,
    endpoint,
    accountId: env.AIRLOCK_AWS_ACCOUNT_ID ?? dev.moto.accountId,
  };
}

/**
 * Target endpoints by name from `AIRLOCK_ENDPOINT_<NAME>` (e.g. `AIRLOCK_ENDPOINT_DEMO_CRM` → `demo-crm`),
 * falling back to the local stack's demo CRM.
 */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const dev = loadDevConfig();
  const endpoints: Record<string, string> = { 'demo-crm': `http://${dev.demoCrm.ip}:${dev.demoCrm.port}` };
  for (const [key, value] of Object.entries(env)) {
    const m = /^AIRLOCK_ENDPOINT_([A-Z0-9_]+)$/.exec(key);
    if (m && value) endpoints[m[1].toLowerCase().replace(/_/g, '-')] = value;
  }
  return endpoints;
}

/** The policies directory: `AIRLOCK_POLICIES_DIR`, else the repository's `policies/`. */
export function policiesDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AIRLOCK_POLICIES_DIR ?? resolve(REPO_ROOT, loadDevConfig().worker.policiesDir));
}

/** The approvers file: `AIRLOCK_APPROVERS_FILE`, else `.airlock/approvers.json` (which `npm start` writes). */
export function approversFileFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AIRLOCK_APPROVERS_FILE ?? resolve(REPO_ROOT, '.airlock', 'approvers.json'));
}

/** The agents file: `AIRLOCK_AGENTS_FILE`, else `.airlock/agents.json` (which `npm start` writes). */
export function agentsFileFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AIRLOCK_AGENTS_FILE ?? resolve(REPO_ROOT, '.airlock', 'agents.json'));
}

/** The audit log: `AIRLOCK_AUDIT_LOG`, else `.airlock/audit.jsonl`. */
export function auditLogPathFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AIRLOCK_AUDIT_LOG ?? resolve(REPO_ROOT, '.airlock', 'audit.jsonl'));
}
