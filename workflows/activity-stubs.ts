import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';

// Each stage's activities, with the retries that suit it.

/**
 * Pure, fast checks (a decision's signature and policy): no extra round trip, and no stranger polling the queue can
 * answer them.
 */
export const local = proxyLocalActivities<AirlockActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * How runs begun by an earlier version were admitted (a local activity): their histories hold its result, which
 * replay reads back; only a run still in its first workflow task across the deploy runs it. New runs are admitted by
 * `admitAndExecute`.
 */
export const admitting = proxyLocalActivities<AirlockActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { maximumAttempts: 3 },
});

/** The dry run as a regular activity: how runs admitted by an earlier version made it (see TWO_TASK_STEPS). */
export const planningRemotely = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * The dry run, when admission's own attempt failed or ran out of its budget (an action that needs approval): a local
 * activity (no round trip through the server, and no stranger polling the queue can answer it), retried with backoff,
 * each attempt with a fresh read-only session. A worker that dies meanwhile only makes the next one plan again;
 * planning changes nothing.
 */
export const planning = proxyLocalActivities<AirlockActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Notifications: retried with backoff for about half an hour, never awaited by the approval wait (a channel that is down
 * never holds up, nor fails, the action).
 */
export const notifying = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 10 },
});

/**
 * The requester's notification of the outcome, awaited at the very end (after the final status is set and the audit
 * record written) so that the run stays open while it is sent, for at most a minute.
 */
export const notifyingOutcome = proxyActivities<AirlockActivities>({
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '20 seconds' },
});

/** The audit record must be written: retried until it is (appending is idempotent by action and run). */
export const auditing = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** The audit record written in the workflow task that ends the action; a few quick tries, then {@link auditing}. */
export const auditingHere = proxyLocalActivities<AirlockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumAttempts: 3 },
});

/**
 * Execution (and admission, which executes an action that needs no approval) may be retried safely only because the
 * target receives the action id as its idempotency key.
 */
export const executing = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '2 minutes',
  // The activity heartbeats every second: a worker that dies mid-execution is noticed within 5 s and the execution
  // tried again on another worker (its record and the idempotency key make that safe), not after 2 minutes.
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});
