import { checkDecisionShape } from '../common/approval-rules';
import { ActionNotFoundError, EvidenceError } from '../common/errors';
import type { LateDecisionOutcome, LateDecisionRefusalCode } from '../common/late-decision';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { visible } from '../common/terminal-text';
import { describeHistory, type AuditEvent } from '../audit/audit-trail';
import { decisionsIn, type HistoryEvent } from '../audit/run-history';
import type { ActivityDeps } from './create-activities';
import type { Evidence } from './evidence';

/** The history events that close a run: an action whose run has one of them has ended. */
const CLOSING_EVENTS = [
  'workflowExecutionCompletedEventAttributes',
  'workflowExecutionFailedEventAttributes',
  'workflowExecutionTimedOutEventAttributes',
  'workflowExecutionTerminatedEventAttributes',
  'workflowExecutionCanceledEventAttributes',
  'workflowExecutionContinuedAsNewEventAttributes',
] as const;

/**
 * The activity that records a decision sent after its action had ended (`lateDecisionWorkflow`), so that it is kept
 * even though it changes nothing. Approvers' clients never write the audit log: they start that workflow, and only a
 * worker appends.
 *
 * Contract: anyone who can reach the namespace can start the workflow or schedule this activity with anything, so it
 * must take nothing from its caller but the signed decision itself, and must record only a genuine one: signed by a
 * registered person's key or passkey, for a run that is an action's own (its proposal verifies) and has ended, on a
 * plan that run made, and never delivered to it while it ran (a replay). Anything else is refused and not recorded at
 * all: a record of a forgery would take the approver's one place. One record per approver and action run, whatever
 * they send after (so a flood cannot grow the log).
 */
export function createLateDecisionActivities(deps: ActivityDeps, evidence: Evidence) {
  return {
    async recordLateDecision(args: unknown): Promise<LateDecisionOutcome> {
      const refused = (code: LateDecisionRefusalCode, message: string, status?: string): LateDecisionOutcome => ({
        recorded: false,
        ...(status === undefined ? {} : { status }),
        refusal: { code, message },
      });
      const shape = checkDecisionShape((args as { signed?: unknown } | undefined)?.signed);
      if (!shape.ok) return refused(shape.code as LateDecisionRefusalCode, shape.message);
      const { payload, signature } = shape.signed;
      const { actionId, runId } = payload;

      let history: HistoryEvent[];
      try {
        history = await deps.runs.events(actionId, runId);
      } catch (err) {
        if (isNotFound(err)) return refused('unknown_action', `There is no run ${runId} of action ${actionId}.`);
        throw err;
      }
      const started = history[0]?.workflowExecutionStartedEventAttributes;
      if (started?.workflowType?.name !== ACTION_WORKFLOW_TYPE)
        return refused('not_an_action', `Run ${runId} of ${actionId} is not an Airlock action.`);
      if (!CLOSING_EVENTS.some((k) => history.at(-1)?.[k]))
        return refused(
          'still_running',
          `Action ${actionId} is still running: send the decision to it (\`airlock approve\`, the inbox), where it counts.`,
        );
      let authentic;
      try {
        authentic = await evidence.authenticate(await deps.runs.decode(started.input?.payloads?.[0]), {
          workflowId: actionId,
          runId,
        });
      } catch (err) {
        if (err instanceof EvidenceError)
          return refused('not_an_action', `Run ${runId} of ${actionId} is not an action's own: ${err.message}`);
        throw err;
      }
      const events = await describeHistory(history, deps.runs.decode);
      const final = await deps.auditLog.ref(actionId, runId, 'final');
      const status = final?.status ?? lastStatus(events);

      const taskName = authentic.payload.task;
      if (!deps.registry.has(taskName))
        return refused('unknown_task', `Task ${visible(taskName)} is no longer registered.`, status);
      const task = deps.registry.get(taskName);
      const facts = await evidence.decisionFacts(shape.signed, {
        task: task.name,
        risk: task.risk,
        requester: authentic.requester,
        agent: authentic.agent.id,
      });
      if (!facts.approverId)
        return refused('unknown_key', `No public key is registered for "${visible(payload.approver)}".`, status);
      if (!facts.signatureValid)
        return refused(
          'bad_signature',
          `The signature does not verify against ${facts.approverId}'s registered key or passkeys.`,
          status,
        );
      const delivered = (await decisionsIn(history, deps.runs.decode)).some(
        (d) => (d.signed as { payload?: { nonce?: unknown } } | undefined)?.payload?.nonce === payload.nonce,
      );
      if (delivered)
        return refused(
          'replayed_nonce',
          'This decision reached the action while it was running: its history and its audit record hold it.',
          status,
        );
      const plans = planHashesIn(events);
      if (!plans.includes(payload.planHash))
        return refused(
          'wrong_plan_hash',
          `Plan ${payload.planHash.slice(0, 12)}… is not a plan action ${actionId} made; a decision names the plan reviewed.`,
          status,
        );

      const approver = facts.approverId;
      const kept = async (): Promise<LateDecisionOutcome | undefined> => {
        const ref = await deps.auditLog.ref(actionId, runId, 'late_decision', undefined, approver);
        if (!ref) return undefined;
        // Two late decisions of one approver at once both reach here: the log kept the first, whichever it was.
        const [record] = (await deps.auditLog.find(actionId, runId, 'late_decision')).filter((r) => r.seq === ref.seq);
        const nonce = (record?.events[0] as { data?: { nonce?: unknown } } | undefined)?.data?.nonce;
        return { recorded: true, status, seq: ref.seq, hash: ref.hash, earlier: nonce !== payload.nonce };
      };
      const before = await kept();
      if (before) return before;
      const now = deps.clock().toISOString();
      await deps.auditLog.append({
        kind: 'late_decision',
        actionId,
        runId,
        approver,
        task: task.name,
        status,
        recordedAt: now,
        events: [
          {
            at: now,
            eventId: 0,
            kind: 'late_decision',
            // It reached Airlock after the end; when it was signed is the payload's `time`, which may be earlier.
            summary: `${approver}'s "${payload.decision}" for plan ${payload.planHash.slice(0, 12)} (signed ${visible(payload.time)}) reached Airlock after the action had ended ${visible(status)}${payload.reason ? `: "${visible(payload.reason).slice(0, 160)}"` : ''}; it changed nothing`,
            data: {
              approver,
              decision: payload.decision,
              ...(payload.reason === undefined ? {} : { reason: payload.reason }),
              planHash: payload.planHash,
              lastPlan: plans.at(-1) === payload.planHash,
              nonce: payload.nonce,
              signedAt: payload.time,
              // Kept so that the decision can be verified again later, as the action's own decisions can.
              signature,
              permitted: facts.permitted,
              excluded: authentic.excluded.includes(approver),
              policyIds: facts.policyIds,
              actionStatus: status,
            },
          },
        ],
      });
      return (await kept()) as LateDecisionOutcome;
    },
  };
}

/** Whether Temporal said there is no such run (as an Airlock error, or as the server's NOT_FOUND). */
function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return err instanceof ActionNotFoundError || e?.code === GRPC_NOT_FOUND || e?.cause?.code === GRPC_NOT_FOUND;
}
const GRPC_NOT_FOUND = 5;

/** The last status the run's history holds (a run terminated before any has none). */
function lastStatus(events: readonly AuditEvent[]): string {
  const last = events.filter((e) => e.kind === 'status_changed' || e.kind === 'terminated').at(-1);
  if (last?.kind === 'terminated') return 'terminated';
  return (last?.data as { status?: string } | undefined)?.status ?? 'ended';
}

/** The hashes of the plans the run made, in order (its admission's, its planning's, those a changed target forced). */
function planHashesIn(events: readonly AuditEvent[]): string[] {
  const hashes: string[] = [];
  for (const e of events) {
    const data = e.data as { hash?: unknown; plan?: { hash?: unknown } } | undefined;
    const hash = e.kind === 'planned' ? data?.hash : e.kind === 'plan_changed' ? data?.plan?.hash : undefined;
    if (typeof hash === 'string') hashes.push(hash);
  }
  return hashes;
}
