import { z } from 'zod';
import type { AwsAccount, TaskContext } from '../define-task';
import { readSecretsUnder, requestJson } from '../kit';

/** A demo CRM customer id. */
export const CustomerIdSchema = z.string().regex(/^C-\d{4,}$/, 'a customer id looks like C-1001');

/** A customer record of the demo CRM. */
export interface Customer {
  id: string;
  name: string;
  email: string;
  phone: string;
  tier: 'bronze' | 'silver' | 'gold' | 'platinum';
}

/** A note on a customer. */
export interface Note {
  id: string;
  customerId: string;
  text: string;
  createdAt: string;
}

/** Name of the demo CRM in the worker's endpoint map (`AIRLOCK_ENDPOINT_DEMO_CRM`). */
export const DEMO_CRM_ENDPOINT = 'demo-crm';
/** The Secrets Manager secret holding the demo CRM's bearer token (reads and writes): execution only. */
export const DEMO_CRM_TOKEN_SECRET = 'airlock/demo-crm/api-token';
/** The Secrets Manager secret holding the demo CRM's read-only token: what a plan (dry run) gets. */
export const DEMO_CRM_READ_TOKEN_SECRET = 'airlock/demo-crm/read-token';

/** The demo CRM credentials of a task: a read-only token to plan, the read-write token to execute. */
export const DEMO_CRM_CREDENTIALS = {
  role: {
    name: 'airlock-demo-crm',
    description: 'Role Airlock assumes to act on the demo CRM; each action narrows it with a session policy.',
    grants: (aws: AwsAccount) => [readSecretsUnder(aws, 'airlock/demo-crm/')],
  },
  plan: { secrets: { token: DEMO_CRM_READ_TOKEN_SECRET } },
  execute: { secrets: { token: DEMO_CRM_TOKEN_SECRET } },
};

/** Calls the demo CRM with the action's token (see {@link requestJson}: idempotency key on writes, one retry rule). */
export function crmRequest<T>(
  ctx: TaskContext,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  body?: unknown,
): Promise<T> {
  return requestJson<T>(
    ctx,
    DEMO_CRM_ENDPOINT,
    { method, path, body, headers: { authorization: `Bearer ${ctx.secrets.token}` } },
    { label: 'the demo CRM' },
  );
}
