import type { Plan } from './types';

/**
 * What a plan hash covers: the task, the validated input, and everything the plan shows a person (target, summary,
 * side effects, before, after, diff). Approvals bind to the sha-256 of its canonical JSON. Workflow-safe.
 */
export function planHashBody(
  task: string,
  input: unknown,
  plan: Pick<Plan, 'target' | 'summary' | 'sideEffects' | 'before' | 'after' | 'diff'>,
) {
  return {
    task,
    input,
    target: plan.target,
    summary: plan.summary,
    sideEffects: plan.sideEffects,
    before: plan.before,
    after: plan.after,
    diff: plan.diff,
  };
}
