import { policyInWords } from '../common/policy-words';
import type { PolicyDecision } from '../common/types';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { ActionNotFoundError } from '../common/errors';
import type { temporal } from '@temporalio/proto';
import { SA_STATUS } from '../common/search-attributes';
import { isUndecodable } from '../common/undecodable';
import type { HistoryDecoder } from './history-payloads';
import { createRunHistory, eventTime, type HistoryEvent } from './run-history';
import { visible } from '../common/terminal-text';
import { verificationInWords } from '../common/read-back';
import type { ReadBackVerification } from '../common/types';

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
    | 'plan_changed'
    | 'execution_started'
    | 'usage_reserved'
    | 'executed'
    | 'execution_failed'
    | 'decision_received'
    | 'decision_recorded'
    | 'approver_checked'
    | 'approval_window_opened'
    | 'notification_timer'
    | 'approval_window_closed'
    | 'signal_received'
    | 'finished'
    | 'terminated'
    | 'cancel_requested';
  /** One line for people: every value in it that came from outside is escaped (see `visible`). */
  summary: string;
  /** The event's data (decoded payloads). */
  data?: unknown;
}

const ACTIVITY_KIND: Record<string, { started?: AuditEvent['kind']; failed: AuditEvent['kind'] }> = {
  planAction: { started: 'plan_started', failed: 'plan_failed' },
  executeAction: { started: 'execution_started', failed: 'execution_failed' },
  // Admission, which executes an action that needs no approval: scheduled is not yet executing.
  admitAndExecute: { failed: 'execution_failed' },
};

const v = visible;
const short = (s: unknown, n = 160) => {
  const text = v(s);
  return text.length > n ? `${text.slice(0, n - 3)}...` : text;
};

/** An audit event before it is placed in time (the history event, or the moment, it comes from). */
export type AuditFact = Pick<AuditEvent, 'kind' | 'summary' | 'data'>;

/** The agent's proposal, in words. */
export function proposedFact(proposal: unknown): AuditFact {
  const p = ((proposal as { payload?: Record<string, unknown> } | undefined)?.payload ?? {}) as Record<string, unknown>;
  return {
    kind: 'proposed',
    summary: isUndecodable(proposal)
      ? `an undecodable proposal was sent (${v(proposal.reason)})`
      : `${v(p.agent)}${p.user ? ` for ${v(p.user)}` : ''} proposed ${v(p.task)}${p.dryRun ? ' (dry run)' : ''}${p.reason ? `: "${short(p.reason)}"` : ''} (signed ${v(p.time)})`,
    data: proposal,
  };
}

/** What admission found (`admitAndExecute`, or an earlier version's `admitProposal`): verification, policy, the plan, and what it executed. */
export function admissionFacts(result: Record<string, unknown>, executedMs?: number): AuditFact[] {
  // Whether admission wrote the audit record is said by the record itself, not part of what was admitted.
  const { executed, audited: _audited, ...admission } = result;
  const out: AuditFact[] = [
    {
      kind: 'validated',
      summary: admission.ok
        ? `proposal verified (agent ${v(admission.agent)}), input valid`
        : `proposal invalid: ${short(admission.message, 400)}`,
      data: admission,
    },
  ];
  const policy = admission.policy as Record<string, unknown> | undefined;
  if (policy) {
    out.push({
      kind: 'policy_decided',
      summary: `policy: ${v(policyInWords(policy as unknown as PolicyDecision).join('; '))}`,
      data: policy,
    });
  }
  const plan = admission.plan as Record<string, unknown> | undefined;
  if (plan) out.push(plannedFact(plan));
  if (executed) out.push(executedFact(executed as Record<string, unknown>, executedMs));
  return out;
}

/** A plan, in words. */
export function plannedFact(plan: Record<string, unknown> | undefined, ms?: number): AuditFact {
  return {
    kind: 'planned',
    summary: `plan ${v(String(plan?.hash).slice(0, 12))}: ${short(plan?.summary)}${ms === undefined ? '' : ` (${ms} ms)`}`,
    data: plan,
  };
}

/** An execution's result (session, idempotency key, the target's answer), in words. */
export function executedFact(executed: Record<string, unknown> | undefined, ms?: number): AuditFact {
  const cred = (executed?.credentials ?? {}) as {
    roleArn?: string;
    sessionName?: string;
    expiresAt?: string;
    sourceIdentity?: string;
  };
  return {
    kind: 'executed',
    summary:
      `executed${ms === undefined ? '' : ` in ${ms} ms`} with role ${v(cred.roleArn)}, session ${v(cred.sessionName)} (source identity ${v(cred.sourceIdentity)}, expires ${v(cred.expiresAt)}); ` +
      `idempotency key ${v(executed?.idempotencyKey)}; target answered ${short(JSON.stringify(executed?.output) ?? 'null')}` +
      // Results recorded before read-back existed have no verification.
      (isVerification(executed?.verification) ? `; ${short(verificationInWords(executed.verification), 600)}` : ''),
    data: executed,
  };
}

/** Whether a result's `verification` is one (a result from before read-back has none). */
const isVerification = (x: unknown): x is ReadBackVerification =>
  typeof x === 'object' && x !== null && typeof (x as { status?: unknown }).status === 'string';

/** What an audit record says of how an action finished. */
export interface FinishedData {
  status: string;
  /** Whether its history (or, for an action carried out in its first step, that step itself) shows it executed. */
  executed: boolean;
  /** Whether the audit log holds its execution record (credentials were minted to carry it out). */
  executionStarted: boolean;
  approvedBy: string[];
  rejectedBy: string[];
  /**
   * Decision messages the workflow refused before they reached history, by code, and those it could not keep: known
   * to the workflow only, so absent from the record its first step writes (they are in the workflow's result).
   */
  refusedBeforeHistory?: { total: number; byCode: Record<string, number> };
  refusalsNotKept?: number;
}

/** How an action finished, in words. */
export function finishedFact(data: FinishedData): AuditFact {
  const { status, executionStarted, refusedBeforeHistory } = data;
  return {
    kind: 'finished',
    summary:
      `finished: ${v(status)}` +
      (executionStarted && status !== 'succeeded' ? '; an execution had started (see its execution record)' : '') +
      (refusedBeforeHistory?.total ? `; ${refusedBeforeHistory.total} decision message(s) refused before history` : ''),
    data,
  };
}

/**
 * The audit trail of one action: its workflow history, read event by event and put in words.
 * The history is the record; this only reads it.
 */
export async function auditTrail(client: Client, id: string, runId?: string): Promise<AuditEvent[]> {
  const runs = createRunHistory(client);
  const run =
    runId ??
    (
      await client.workflow
        .getHandle(id)
        .describe()
        .catch((err: unknown) => {
          throw err instanceof WorkflowNotFoundError ? new ActionNotFoundError(id) : err;
        })
    ).runId;
  return describeHistory(await runs.events(id, run), runs.decode);
}

/** Puts a run's history in words; payloads are decoded with `decode` (undecodable ones are named, not fatal). */
export async function describeHistory(events: HistoryEvent[], decode: HistoryDecoder): Promise<AuditEvent[]> {
  const first = (ps?: { payloads?: temporal.api.common.v1.IPayload[] | null } | null): Promise<unknown> =>
    decode(ps?.payloads?.[0]);
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
  /** This run's id, from its first event: an admission made for another run is named, never believed. */
  let runId: string | undefined;
  /** Timers the workflow named as a notification's (not the approval window's). */
  const notificationTimers = new Set<string>();

  for (const e of events) {
    const at = eventTime(e);
    const base = { at: new Date(at).toISOString(), eventId: Number(e.eventId) };
    const push = (kind: AuditEvent['kind'], summary: string, data?: unknown) =>
      out.push({ ...base, kind, summary, data });
    const place = (...facts: AuditFact[]) => facts.forEach((f) => out.push({ ...base, ...f }));

    if (e.workflowExecutionStartedEventAttributes) {
      runId = e.workflowExecutionStartedEventAttributes.originalExecutionRunId ?? undefined;
      place(proposedFact(await first(e.workflowExecutionStartedEventAttributes.input)));
    } else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      const details = e.markerRecordedEventAttributes.details ?? {};
      // The marker's own metadata is written by the SDK's core, not by the payload codec: it is plain JSON.
      const metaPayload = details.data?.payloads?.[0];
      const meta = (metaPayload ? defaultPayloadConverter.fromPayload(metaPayload) : undefined) as
        { activity_type?: string } | undefined;
      const result = (await first(details.result)) as Record<string, unknown> | undefined;
      const type = meta?.activity_type;
      if (type === 'admitProposal' && result) {
        place(...admissionFacts(result));
      } else if (type === 'planAction') {
        const failure = e.markerRecordedEventAttributes.failure;
        if (result) place(plannedFact(result));
        else if (failure) {
          const message = await failureMessage(failure);
          push('plan_failed', `planAction failed: ${short(message, 400)}`, {
            type: failure.applicationFailureInfo?.type ?? failure.cause?.applicationFailureInfo?.type,
            message,
          });
        }
      } else if (type === 'verifyDecision' && result) {
        push(
          'approver_checked',
          result.signatureValid
            ? `signature of ${v(result.approverId)} valid; ${result.permitted ? 'permitted' : 'not permitted'} by policy (${(result.policyIds as string[] | undefined)?.join(', ') || 'no policy matched'})`
            : 'signature check failed',
          result,
        );
      }
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      const status = fields[SA_STATUS.name];
      if (status) {
        // Search attributes are never encrypted (payload codecs skip them), so they are read without the codec.
        const value = String(defaultPayloadConverter.fromPayload(status));
        push('status_changed', `status → ${v(value)}`, { status: value });
      }
    } else if (e.activityTaskScheduledEventAttributes) {
      const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? '';
      scheduled.set(String(e.eventId), { type, at });
      const kinds = ACTIVITY_KIND[type];
      if (kinds?.started) push(kinds.started, `${type} scheduled`);
    } else if (e.activityTaskCompletedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
      if (s && ACTIVITY_KIND[s.type]) {
        const result = (await first(e.activityTaskCompletedEventAttributes.result)) as Record<string, unknown>;
        const ms = at - s.at;
        if (s.type === 'planAction') place(plannedFact(result, ms));
        else if (s.type === 'admitAndExecute' && runId && result?.runId !== runId)
          push('validated', `an admission made for another run (${v(result?.runId)}) was refused`);
        else if (s.type === 'admitAndExecute') place(...admissionFacts(result, ms));
        else if (result?.kind === 'plan_changed') {
          const plan = result.plan as Record<string, unknown>;
          push(
            'plan_changed',
            `the target changed since the approved plan; nothing executed; new plan ${v(String(plan?.hash).slice(0, 12))}: ${short(plan?.summary)}`,
            result,
          );
        } else if (result?.kind === 'executed') place(executedFact(result.result as Record<string, unknown>, ms));
      }
    } else if (e.activityTaskFailedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskFailedEventAttributes.scheduledEventId));
      const kinds = s && ACTIVITY_KIND[s.type];
      const failure = e.activityTaskFailedEventAttributes.failure;
      const message = await failureMessage(failure);
      if (kinds && s)
        push(kinds.failed, `${s.type} failed: ${short(message, 400)}`, {
          type: failure?.applicationFailureInfo?.type,
          message,
        });
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const req = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
      const signed = (await first(req?.input?.args)) as { payload?: Record<string, unknown> } | undefined;
      const d = signed?.payload ?? {};
      push(
        'decision_received',
        `${v(d.approver)} sent "${v(d.decision)}" for plan ${v(String(d.planHash ?? '').slice(0, 12))}${d.reason ? `: "${short(d.reason)}"` : ''}`,
        d,
      );
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const attempt = (await first(e.workflowExecutionUpdateCompletedEventAttributes.outcome?.success)) as
        | { approver: string; decision: string; accepted: boolean; refusal?: { code: string; message: string } }
        | undefined;
      if (attempt) {
        push(
          'decision_recorded',
          attempt.accepted
            ? `${v(attempt.decision)} by ${v(attempt.approver)} accepted`
            : `${v(attempt.decision)} by ${v(attempt.approver)} REFUSED (${v(attempt.refusal?.code)}): ${short(attempt.refusal?.message, 400)}`,
          attempt,
        );
      }
    } else if (e.workflowExecutionSignaledEventAttributes) {
      // Airlock takes no signals; anyone can send one, so it is named (not decoded into the trail).
      push(
        'signal_received',
        `a signal "${short(e.workflowExecutionSignaledEventAttributes.signalName, 64)}" was sent (Airlock ignores signals)`,
      );
    } else if (e.timerStartedEventAttributes) {
      const secs = Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0);
      const label = e.userMetadata?.summary ? await decode(e.userMetadata.summary) : undefined;
      const notification =
        typeof label === 'string' && label.startsWith('notification: ') ? label.slice(14) : undefined;
      if (notification) {
        notificationTimers.add(String(e.timerStartedEventAttributes.timerId));
        push('notification_timer', `${v(notification)} due in ${formatSeconds(secs)}`);
      } else push('approval_window_opened', `approval window opened for ${formatSeconds(secs)}`);
    } else if (e.timerFiredEventAttributes) {
      if (notificationTimers.has(String(e.timerFiredEventAttributes.timerId)))
        push('notification_timer', 'a notification fell due');
      else push('approval_window_closed', 'approval window closed');
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const state = (await first(e.workflowExecutionCompletedEventAttributes.result)) as {
        status: string;
        error?: { message: string };
      };
      const took = out.length ? at - Date.parse(out[0].at) : 0;
      push(
        'finished',
        `finished: ${v(state?.status)} after ${formatMs(took)}${state?.error ? ` — ${short(state.error.message, 400)}` : ''}`,
        state,
      );
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      push(
        'terminated',
        `terminated by an operator: ${short(e.workflowExecutionTerminatedEventAttributes.reason ?? '')}`,
      );
    } else if (e.workflowExecutionCancelRequestedEventAttributes) {
      push(
        'cancel_requested',
        `cancellation requested: ${short(e.workflowExecutionCancelRequestedEventAttributes.cause ?? '')}`,
      );
    }
  }
  return out;
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
