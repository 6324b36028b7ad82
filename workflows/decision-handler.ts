import { ApplicationFailure, allHandlersFinished, condition, log, patched, setHandler } from '@temporalio/workflow';
import {
  ApprovalProcess,
  checkDecisionShape,
  type ApprovalOutcome,
  type ApprovalRules,
} from '../common/approval-rules';
import { decideUpdate } from '../common/messages';
import { SA_APPROVERS } from '../common/search-attributes';
import type { ApprovalAttempt, Plan } from '../common/types';
import { notificationSchedule, type NotificationKind } from '../common/notification-schedule';
import { local, notifying, notifyingOutcome } from './activity-stubs';
import { now, type ActionRecord } from './action-record';
import { decoded } from './evidence-guards';

/** Runs whose approval windows open from this version on tell people (notifications); earlier ones replay as they ran. */
export const NOTIFY_PATCH = 'airlock-notify-approvers';

/**
 * The `decide` Update of one action, and the approval stage it drives: the handler and its validator beside the
 * short workflow (as in Temporal's safe-message-handlers sample), the rules in the pure {@link ApprovalProcess}.
 *
 * Contract:
 * - the validator must refuse, before history, whatever is not a decision signed by a registered person for this
 *   very run (junk, oversized, undecodable, unsigned, replayed or capped), counting it;
 * - the handler must judge a decision by the action as it was when the decision arrived, before any await;
 * - every signed attempt that passes the validator is recorded, accepted or refused, with its reason.
 */
export class DecisionHandler {
  private readonly approval: ApprovalProcess;
  /** Whether this run tells people (decided when its first window opens, and kept on replay). */
  private notifies = false;
  private windowMs = 0;

  constructor(private readonly action: ActionRecord) {
    const state = action.state;
    this.approval = new ApprovalProcess(state);
    setHandler(
      decideUpdate,
      async (signed): Promise<ApprovalAttempt> => {
        const shape = checkDecisionShape(signed); // screened by the validator; a replayed history is checked again
        if (!shape.ok) throw ApplicationFailure.nonRetryable(shape.message, shape.code);
        const arrived = this.approval.arrive(shape.signed, Date.now()); // before any await: judged as the action was now
        if ('refused' in arrived) return arrived.refused;
        const check = decoded(
          await local.verifyDecision({
            signed: shape.signed,
            task: state.task,
            risk: state.risk ?? 'critical',
            requester: state.requester,
            agent: state.agent,
          }),
        );
        const attempt = this.approval.receive(shape.signed, check, arrived.arrival);
        if (attempt.accepted) {
          state.updatedAt = now();
          if (attempt.decision === 'approve') {
            this.action.index({ key: SA_APPROVERS, value: [...state.approvedBy] });
            this.action.noteMemo();
            this.action.publish();
          }
        }
        return attempt;
      },
      {
        validator: (signed) => {
          const verdict = this.approval.screen(signed, Date.now());
          if (!verdict.accepted) {
            log.warn('decision refused before history', { actionId: state.id, code: verdict.code });
            throw ApplicationFailure.nonRetryable(verdict.message, verdict.code);
          }
        },
      },
    );
  }

  /** Opens the first window on the plan, with who may not decide, for how long, and with which keys. */
  open(notify: boolean, rules: ApprovalRules): void {
    this.approval.configure(rules);
    this.approval.open(Date.now());
    this.windowMs = rules.windowMs;
    this.action.setStatus('awaiting_approval');
    // Only where the admitting worker has a channel (its answer is in history): no round trips that tell nobody.
    this.notifies = notify && patched(NOTIFY_PATCH);
    this.notify('waiting');
  }

  /**
   * Tells people (the notifier activity reads what to say from this run's history), without waiting: a notification
   * that fails is retried, and never holds up or fails the action.
   */
  private notify(kind: NotificationKind): void {
    if (this.notifies) void notifying.notify({ kind }).catch(() => undefined);
  }

  /** Tells the requester how the action ended, once it has: awaited, for at most a minute; a failure is ignored. */
  async notifyOutcome(): Promise<void> {
    if (this.notifies) await notifyingOutcome.notify({ kind: 'outcome' }).catch(() => undefined);
  }

  /**
   * Waits until quorum, a rejection or the window's end; then takes no more decisions, lets those in flight answer,
   * and says how the wait ended. Decisions already taken are judged as they arrived, and obeyed.
   */
  async outcome(): Promise<Exclude<ApprovalOutcome, 'waiting'>> {
    const state = this.action.state;
    this.action.publish();
    const expiresAt = Date.parse(state.expiresAt as string);
    const decided = () => this.approval.outcome(Date.now()) !== 'waiting';
    // Durable timers: reminders, an escalation, a warning before expiry, as the permitting policy asks.
    const due = this.notifies
      ? notificationSchedule(expiresAt - this.windowMs, expiresAt, state.policy?.notifications)
      : [];
    for (const [i, { at, kind }] of due.entries()) {
      // Named in history, so that the audit tells these timers from the approval window's.
      if (at > Date.now() && (await condition(decided, at - Date.now(), { summary: `notification: ${kind}` }))) break;
      // After a pause (no worker ran), only the last of the notifications that fell due meanwhile is sent.
      if (!decided() && !(due[i + 1] && due[i + 1].at <= Date.now())) this.notify(kind);
    }
    await condition(decided, expiresAt - Date.now());
    await this.close();
    const outcome = this.approval.outcome(Date.now());
    if (outcome === 'rejected') {
      const by = this.approval.rejectedBy as ApprovalAttempt;
      this.action.fail('AIRLOCK_REJECTED', `Rejected by ${by.approver}: ${by.reason}`);
    } else if (outcome !== 'approved') {
      this.action.fail(
        'AIRLOCK_EXPIRED',
        `No quorum of ${state.approvalsRequired} approval(s) before ${state.expiresAt}; nothing was executed. Propose again if still needed.`,
      );
    }
    return outcome === 'waiting' ? 'expired' : outcome;
  }

  /**
   * The plan made just before execution differs from the approved one: approvals start over on the new plan (checked
   * only once the old approvals are cleared) in a new window. Returns false when the action has gone stale too often
   * (it ends `stale`), or needed no approval.
   */
  replanned(plan: () => Plan): boolean {
    this.action.index({ key: SA_APPROVERS, value: [] });
    if (this.action.state.approvalsRequired === 0 || !this.approval.replanned(plan(), Date.now())) return false;
    this.action.setStatus('awaiting_reapproval');
    this.notify('replanned');
    return true;
  }

  /** Takes no more decisions: a decision from now on is refused, never ignored. */
  stop(): void {
    this.approval.close();
  }

  /** Takes no more decisions, and lets those in flight answer (no approver is left without a reply). */
  async close(): Promise<void> {
    this.stop();
    // Awaited even when none is in flight: skipping the await would reorder the commands that follow against the
    // update's answer, and histories recorded with it would not replay (test/workflow-replay.test.ts).
    await condition(allHandlersFinished);
  }
}
