import { z } from 'zod';
import { TargetError } from '../../common/errors';
import type { TaskContext } from '../define-task';

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
  role: 'airlock-demo-crm',
  plan: { secrets: { token: DEMO_CRM_READ_TOKEN_SECRET } },
  execute: { secrets: { token: DEMO_CRM_TOKEN_SECRET } },
};

/** Calls the demo CRM with the action's token; turns error responses into {@link TargetError}s. */
export async function crmRequest<T>(
  ctx: TaskContext,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  body?: unknown,
): Promise<T> {
  const base = ctx.endpoints[DEMO_CRM_ENDPOINT];
  if (!base) {
    throw new TargetError(
      'The demo CRM endpoint is not configured: set AIRLOCK_ENDPOINT_DEMO_CRM on the worker.',
      undefined,
      false,
    );
  }
  const headers: Record<string, string> = {
    authorization: `Bearer ${ctx.secrets.token}`,
    'content-type': 'application/json',
  };
  // Writes carry the action id, so a retried activity never writes twice.
  if (method !== 'GET') headers['idempotency-key'] = ctx.actionId;
  let res: Response;
  try {
    res = await ctx.fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new TargetError(`The demo CRM at ${base} could not be reached (${(err as Error).message}).`, undefined, true);
  }
  const text = await res.text();
  if (!res.ok) {
    // 5xx and 429 may pass; any other 4xx will fail the same way again.
    const retryable = res.status >= 500 || res.status === 429;
    throw new TargetError(`The demo CRM refused ${method} ${path}: HTTP ${res.status} ${text}`, res.status, retryable);
  }
  return JSON.parse(text) as T;
}
