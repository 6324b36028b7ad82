import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { ActionNotFoundError } from '../common/errors';
import { SA_STATUS } from '../common/search-attributes';
import { WorkflowNotFoundError } from '@temporalio/client';

/** One entry of an action's audit trail, read from its workflow history. */
export interface AuditEvent {
  /** When it happened (ISO 8601, the server's clock). */
  at: string;
  /** History event id it comes from. */
  eventId: number;
  kind:
    | 'proposed'
    | 'validated'
    | 'policy_decided'
    | 'status_changed'
    | 'plan_started'
    | 'planned'
    | 'plan_failed'
    | 'execution_started'
    | 'executed'
    | 'execution_failed'
    | 'decision_received'
    | 'decision_recorded'
    | 'approver_checked'
    | 'approval_window_opened'
    | 'approval_window_closed'
    | 'finished'
    | 'terminated'
    | 'cancel_requested';
  /** One line for people. */
  summary: string;
  /** The event's data (decoded payloads). */
  data?: unknown;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const ACTIVITY_KIND: Record<string, { started: AuditEvent['kind']; done: AuditEvent['kind']; failed: AuditEvent['kind'] }> = {
  planAction: { started: 'plan_started', done: 'planned', failed: 'plan_failed' },
  executeAction: { started: 'execution_started', done: 'executed', failed: 'execution_failed' },
};

/**
 * The audit trail of one action: its workflow history, read event by event and put in words.
 * The history is the record; this only reads it.
 */
export async function auditTrail(client: Client, id: string): Promise<AuditEvent[]> {
  // The client's own data converter: encrypted payloads are decrypted with its codec keys.
  const { payloadCodecs, payloadConverter } = client.workflow.options.loadedDataConverter;
  let events: HistoryEvent[];
  try {
    const history = await client.workflow.getHandle(id).fetchHistory();
    events = history.events ?? [];
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ActionNotFoundError(id);
    throw err;
  }
  const decode = async (p?: Payload | null): Promise<unknown> => {
    if (!p) return undefined;
    let decoded = p;
    for (const codec of [...payloadCodecs].reverse()) [decoded] = await codec.decode([decoded]);
    return payloadConverter.fromPayload(decoded);
  };
  const first = (ps?: { payloads?: Payload[] | null } | null): Promise<unknown> => decode(ps?.payloads?.[0]);
  /** A failure's message, from its encoded attributes when the failure converter moved it there. */
  const failureMessage = async (f?: temporal.api.failure.v1.IFailure | null): Promise<string> => {
    if (!f) return '';
    if (f.encodedAttributes) {
      const attrs = (await decode(f.encodedAttributes)) as { message?: string } | undefined;
      if (attrs?.message) return attrs.message;
    }
    return f.message ?? '';
  };
  const scheduled = new Map<string, { type: string; at: number }>();
  const out: AuditEvent[] = [];

  for (const e of events) {
    const at = eventTime(e);
    const base = { at: new Date(at).toISOString(), eventId: Number(e.eventId) };
    const push = (kind: AuditEvent['kind'], summary: string, data?: unknown) => out.push({ ...base, kind, summary, data });

    if (e.workflowExecutionStartedEventAttributes) {
      const req = await first(e.workflowExecutionStartedEventAttributes.input) as { task: string; agent: string; user?: string; reason?: string; dryRun?: boolean };
      push(
        'proposed',
        `${req.agent}${req.user ? ` for ${req.user}` : ''} proposed ${req.task}${req.dryRun ? ' (dry run)' : ''}${req.reason ? `: "${req.reason}"` : ''}`,
        req,
      );
    } else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      const details = e.markerRecordedEventAttributes.details ?? {};
      const meta = await first(details.data) as { activity_type?: string; attempt?: number } | undefined;
      const result = await first(details.result) as Record<string, unknown> | undefined;
      const type = meta?.activity_type;
      if (type === 'validateProposal') {
        push('validated', result?.ok ? 'input valid' : `input invalid: ${String(result?.message ?? '')}`, result);
      } else if (type === 'decidePolicy') {
        push('policy_decided', `policy: ${String(result?.decision)} (${(result?.policyIds as string[] | undefined)?.join(', ') || 'no policy matched'}) — ${String(result?.explanation ?? '')}`, result);
      } else if (type === 'verifyDecision') {
        push(
          'approver_checked',
          result?.signatureValid
            ? `signature valid; approver ${result.permitted ? 'permitted' : 'not permitted'} by policy (${(result.policyIds as string[] | undefined)?.join(', ') || 'no policy matched'})`
            : `signature check failed (${String(result?.code)}): ${String(result?.message)}`,
          result,
        );
      }
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      const status = fields[SA_STATUS.name];
      if (status) push('status_changed', `status → ${String(await decode(status))}`);
    } else if (e.activityTaskScheduledEventAttributes) {
      const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? '';
      scheduled.set(String(e.eventId), { type, at });
      const kinds = ACTIVITY_KIND[type];
      if (kinds) push(kinds.started, `${type} scheduled`);
    } else if (e.activityTaskCompletedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
      const kinds = s && ACTIVITY_KIND[s.type];
      if (kinds && s) {
        const result = await first(e.activityTaskCompletedEventAttributes.result) as Record<string, unknown>;
        const ms = at - s.at;
        if (s.type === 'planAction') push(kinds.done, `plan ${String(result.hash).slice(0, 12)}: ${String(result.summary)} (${ms} ms)`, result);
        else {
          const cred = result.credentials as { roleArn: string; sessionName: string; expiresAt: string; sourceIdentity: string };
          const response = JSON.stringify(result.output) ?? 'null';
          push(
            kinds.done,
            `executed in ${ms} ms with role ${cred.roleArn}, session ${cred.sessionName} (source identity ${cred.sourceIdentity}, expires ${cred.expiresAt}); ` +
              `idempotency key ${String(result.idempotencyKey)}; target answered ${response.length > 160 ? `${response.slice(0, 157)}...` : response}`,
            result,
          );
        }
      }
    } else if (e.activityTaskFailedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskFailedEventAttributes.scheduledEventId));
      const kinds = s && ACTIVITY_KIND[s.type];
      const failure = e.activityTaskFailedEventAttributes.failure;
      const message = await failureMessage(failure);
      if (kinds) push(kinds.failed, `${s.type} failed: ${message}`, { type: failure?.applicationFailureInfo?.type, message });
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const req = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
      const decision = await first(req?.input?.args) as { approver?: string; decision?: string; planHash?: string; reason?: string };
      push('decision_received', `${decision?.approver} sent "${decision?.decision}" for plan ${String(decision?.planHash ?? '').slice(0, 12)}${decision?.reason ? `: "${decision.reason}"` : ''}`, decision);
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const attempt = await first(e.workflowExecutionUpdateCompletedEventAttributes.outcome?.success) as
        | { approver: string; decision: string; accepted: boolean; refusal?: { code: string; message: string } }
        | undefined;
      if (attempt) {
        push(
          'decision_recorded',
          attempt.accepted
            ? `${attempt.decision} by ${attempt.approver} accepted`
            : `${attempt.decision} by ${attempt.approver} REFUSED (${attempt.refusal?.code}): ${attempt.refusal?.message}`,
          attempt,
        );
      }
    } else if (e.timerStartedEventAttributes) {
      const secs = Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0);
      push('approval_window_opened', `approval window opened for ${formatSeconds(secs)}`);
    } else if (e.timerFiredEventAttributes) {
      push('approval_window_closed', 'approval window closed');
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const state = await first(e.workflowExecutionCompletedEventAttributes.result) as { status: string; error?: { message: string } };
      const took = out.length ? at - Date.parse(out[0].at) : 0;
      push('finished', `finished: ${state.status} after ${formatMs(took)}${state.error ? ` — ${state.error.message}` : ''}`, state);
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      push('terminated', `terminated by an operator: ${e.workflowExecutionTerminatedEventAttributes.reason ?? ''}`);
    } else if (e.workflowExecutionCancelRequestedEventAttributes) {
      push('cancel_requested', `cancellation requested: ${e.workflowExecutionCancelRequestedEventAttributes.cause ?? ''}`);
    }
  }
  return out;
}

function eventTime(e: HistoryEvent): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : formatSeconds(Math.round(ms / 100) / 10);
}

function formatSeconds(s: number): string {
  if (s % 86400 === 0) return `${s / 86400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}
