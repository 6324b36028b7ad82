import { proxyActivities } from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';
import type { LateDecisionOutcome } from '../common/late-decision';

/** Recording a late decision: retried with backoff for a few minutes (a store that is briefly down). */
const recording = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * A decision sent after its action had ended: a worker checks it and, if genuine, records it in the audit log (once
 * per approver and action run). It changes nothing about the action. Its id is one per action, approver and
 * signature (`lateDecisionWorkflowId`), so the same decision sent again meets this run.
 *
 * It only orchestrates: the activity takes the signed decision and checks everything itself, since anyone can start
 * this workflow with anything.
 */
export async function lateDecisionWorkflow(signed: unknown): Promise<LateDecisionOutcome> {
  return await recording.recordLateDecision({ signed });
}
