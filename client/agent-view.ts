import type { ActionState, DiffEntry } from '../common/types';
import type { TaskRegistry } from '../tasks/task-registry';

/** What replaces a value an agent must not see. */
export const HIDDEN_FROM_AGENTS = '[hidden from agents]';

const isUnder = (path: string, field: string) => path === field || path.startsWith(`${field}.`) || path.startsWith(`${field}[`);

/**
 * What a model may see of an action: enough to act on, and nothing it must not see. Results are already redacted of
 * secrets; the current values of a task's `hiddenFromAgents` fields are masked in the diff (approvers see them).
 * The MCP server answers with this; agent backends using the SDK should hand their model this, not the state.
 */
export function agentView(s: ActionState, registry: TaskRegistry) {
  const hidden = registry.has(s.task) ? (registry.get(s.task).hiddenFromAgents ?? []) : [];
  const mask = (d: DiffEntry): DiffEntry => (hidden.some((field) => isUnder(d.path, field)) && 'before' in d ? { ...d, before: HIDDEN_FROM_AGENTS } : d);
  return {
    action_id: s.id,
    task: s.task,
    status: s.status,
    summary: s.plan?.summary,
    side_effects: s.plan?.sideEffects,
    diff: s.plan?.diff.map(mask),
    approvals: s.approvalsRequired ? { given: s.approvedBy.length, needed: s.approvalsRequired, expires_at: s.expiresAt } : undefined,
    issues: s.issues,
    result: s.result?.output,
    error: s.error,
  };
}
