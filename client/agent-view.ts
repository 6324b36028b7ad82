import type { ActionState, DiffEntry } from '../common/types';
import type { TaskCatalog } from '../tasks/task-registry';

/** What replaces a value an agent must not see. */
export const HIDDEN_FROM_AGENTS = '[hidden from agents]';

const isUnder = (path: string, field: string) =>
  path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);

/**
 * What a model may see of an action: enough to act on, and nothing it must not see. Results are already redacted of
 * secrets; the plan is shown only when policy lets the agent preview the task, and then the current values of the
 * task's `hiddenFromAgents` fields are masked in the diff (approvers see everything). The MCP server answers with
 * this; agent backends using the SDK should hand their model this, not the state.
 */
export function agentView(s: ActionState, catalog: TaskCatalog) {
  const hidden = catalog.find((t) => t.name === s.task)?.hiddenFromAgents ?? [];
  const mask = (d: DiffEntry): DiffEntry =>
    hidden.some((field) => isUnder(d.path, field)) && 'before' in d ? { ...d, before: HIDDEN_FROM_AGENTS } : d;
  const plan = s.policy?.agentMayPreview ? s.plan : undefined;
  return {
    action_id: s.id,
    task: s.task,
    status: s.status,
    summary: plan ? plan.summary : s.plan && HIDDEN_FROM_AGENTS,
    side_effects: plan?.sideEffects,
    diff: plan?.diff.map(mask),
    approvals: s.approvalsRequired
      ? { given: s.approvedBy.length, needed: s.approvalsRequired, expires_at: s.expiresAt }
      : undefined,
    issues: s.issues,
    result: s.result?.output,
    error: s.error,
  };
}
