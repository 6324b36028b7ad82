import { ApplicationFailure, allHandlersFinished, condition, log, setHandler } from '@temporalio/workflow';
import {
  ApprovalProcess,
  checkDecisionShape,
  type ApprovalOutcome,
  type ApprovalRules,
} from '../common/approval-rules';
import { decideUpdate } from '../common/messages';
import { SA_APPROVERS } from '../common/search-attributes';
import type { ApprovalAttempt, Plan } from '../common/types';
import { local } from './activity-stubs';
import { now, type ActionRecord } from './action-record';
import { decoded } from './evidence-guards';

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
  open(rules: ApprovalRules): void {
    this.approval.configure(rules);
    this.approval.open(Date.now());
    this.action.setStatus('awaiting_approval');
  }

  /**
   * Waits until quorum, a rejection or the window's end; then takes no more decisions, lets those in flight answer,
   * and says how the wait ended. Decisions already taken are judged as they arrived, and obeyed.
   */
  async outcome(): Promise<Exclude<ApprovalOutcome, 'waiting'>> {
    const state = this.action.state;
    this.action.publish();
    await condition(
      () => this.approval.outcome(Date.now()) !== 'waiting',
      Date.parse(state.expiresAt as string) - Date.now(),
    );
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
