import { auditTrail, type AuditEvent } from '../audit/audit-trail';
import { ACTION_MEMO_KEY, readActionMemo, type ActionMemo } from '../common/action-memo';
import { SA_REQUESTER, SA_RISK, SA_STATUS, SA_TASK } from '../common/search-attributes';
import type { AirlockClient } from './airlock-client';

/** What can be known of a running action without a worker: its search attributes, its memo, its history so far. */
export interface ActionWithoutWorker {
  id: string;
  task?: string;
  status?: string;
  requester?: string;
  risk?: string;
  /** What the workflow keeps in its memo: display only (`show` with a worker, and `approve`, check the plan). */
  memo?: ActionMemo;
  /** Its history so far, as `airlock audit` renders it (read from Temporal, decrypted here: no worker needed). */
  history: AuditEvent[];
}

/**
 * An action as Temporal itself holds it, for when no worker answers for it (busy or down): `airlock show` falls back
 * to this rather than failing.
 */
export async function actionWithoutWorker(airlock: AirlockClient, id: string): Promise<ActionWithoutWorker> {
  const d = await airlock.temporal.workflow.getHandle(id).describe();
  const sa = d.typedSearchAttributes;
  const memo = readActionMemo(d.memo?.[ACTION_MEMO_KEY]);
  return {
    id,
    task: sa.get(SA_TASK),
    status: sa.get(SA_STATUS),
    requester: sa.get(SA_REQUESTER),
    risk: sa.get(SA_RISK),
    ...(memo ? { memo } : {}),
    history: await auditTrail(airlock.temporal, id),
  };
}
