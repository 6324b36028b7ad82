import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { ActionState, Plan } from '../common/types';
import { isUndecodable } from '../common/undecodable';
import { planMatchesHash } from './plan-hash';

/**
 * An activity result this worker could not decrypt was not produced by an Airlock worker (a stranger completed
 * the task): it is refused, never used.
 */
export function decoded<T>(value: T): T {
  if (isUndecodable(value))
    throw ApplicationFailure.nonRetryable(
      `An activity result could not be decrypted (${value.reason}); it was not produced by an Airlock worker.`,
      'AIRLOCK_UNDECODABLE',
    );
  return value;
}

/** A plan people will be shown and asked to sign: refused unless it is what its hash says. */
export function checkedPlan(plan: Plan, state: Pick<ActionState, 'task' | 'input'>): Plan {
  if (!planMatchesHash(state.task, state.input, plan)) {
    throw ApplicationFailure.nonRetryable(
      'A plan does not match its hash: it was not produced by an Airlock worker. Nobody was asked to sign it.',
      'AIRLOCK_PLAN_MISMATCH',
    );
  }
  return plan;
}

/**
 * An admission made for another run (its encrypted result copied into this run's activity task by someone polling
 * the queue) is refused, never used: it would say what another proposal was allowed, planned or did.
 */
export function forThisRun<T extends { runId?: string }>(admission: T): T {
  if (admission.runId !== workflowInfo().runId)
    throw ApplicationFailure.nonRetryable(
      'An admission result was made for another run: it was not produced for this action. Nothing was executed for it.',
      'AIRLOCK_WRONG_RUN',
    );
  return admission;
}
