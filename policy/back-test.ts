import type { AuditRecord } from '../audit/audit-log';
import type { Plan, PolicyDecision } from '../common/types';
import { canonicalPersonId } from '../common/identifiers';
import { factsProblem, type FactValue } from '../tasks/define-task';
import type { TaskRegistry } from '../tasks/task-registry';
import type { CedarPolicyEngine, ProposalQuery, RecentUsage } from './cedar-policy-engine';

/** An action as it was decided, from the audit log or a running action: enough to ask another policy about it. */
export interface RecordedAction {
  actionId: string;
  status: string;
  source: 'audit log' | 'running';
  agent: string;
  user?: string;
  task: string;
  /** The input as the agent signed it. */
  input: unknown;
  /** The plan the decision was made on (a task whose rules read its plan), when there was one. */
  plan?: Pick<Plan, 'summary' | 'sideEffects' | 'before' | 'after' | 'diff'>;
  /** The enforced decision on it. */
  decided: PolicyDecision;
}

/** A decision as the back-test compares it: allowed or denied, after how many approvals, by which policies. */
export interface Verdict {
  decision: 'allow' | 'deny';
  approvalsRequired: number;
  /** The permits (or forbids, for a denial) that decided, and the forbids that raised the approvals needed. */
  policyIds: string[];
}

/** One action whose decision the candidate policies would change. */
export interface PolicyChange {
  actionId: string;
  task: string;
  status: string;
  source: RecordedAction['source'];
  before: Verdict;
  after: Verdict;
}

/** What `airlock policy test` found. */
export interface BackTestReport {
  /** Actions asked again. */
  checked: number;
  changes: PolicyChange[];
  /** Actions that could not be asked again, and why (an unknown task, an input that no longer parses, ...). */
  skipped: { actionId: string; why: string }[];
}

const verdict = (d: PolicyDecision): Verdict => ({
  decision: d.decision,
  approvalsRequired: d.decision === 'allow' ? d.approvalsRequired : 0,
  policyIds: [...new Set([...d.policyIds, ...(d.raisedBy ?? [])])].sort(),
});

/**
 * Asks `candidate` about every recorded action as it was proposed: its input's facts recomputed by the task, its
 * plan's facts from the plan it was decided on, and the recent usage it counted then. An action whose decision or
 * number of approvals would differ is a change. Pure: the engine and the registry are its only inputs.
 */
export function backTest(
  candidate: CedarPolicyEngine,
  registry: TaskRegistry,
  actions: readonly RecordedAction[],
): BackTestReport {
  const report: BackTestReport = { checked: 0, changes: [], skipped: [] };
  for (const a of actions) {
    const why = (text: string) => report.skipped.push({ actionId: a.actionId, why: text });
    if (!registry.has(a.task)) {
      why(`task ${a.task} is no longer registered`);
      continue;
    }
    const task = registry.get(a.task);
    const parsed = task.inputSchema.safeParse(a.input);
    if (!parsed.success) {
      why(`its input no longer parses as ${a.task}'s input`);
      continue;
    }
    let plan: Record<string, FactValue> | undefined;
    if (task.planFacts) {
      // The plan's facts from the plan itself; a denied proposal keeps no plan, only the facts it was denied on.
      const recorded = a.decided.planFacts as Record<string, FactValue> | undefined;
      if (!a.plan && !recorded) {
        why(`${a.task} decides on its plan, and neither a plan nor its facts were recorded for it`);
        continue;
      }
      plan = a.plan ? task.planFacts.of(parsed.data, a.plan) : (recorded as Record<string, FactValue>);
      const problem = factsProblem(task.planFacts.types, plan);
      if (problem) {
        why(`its plan's facts: ${problem}`);
        continue;
      }
    }
    const recent = a.decided.recent as RecentUsage | undefined;
    if (task.usage && !recent) {
      why(`${a.task} decides on recent usage, and none was recorded for it`);
      continue;
    }
    const query: ProposalQuery = {
      agent: a.agent,
      user: a.user,
      task: a.task,
      risk: task.risk,
      target: task.target(parsed.data),
      facts: task.facts?.of(parsed.data),
      plan,
      recent,
    };
    let after: PolicyDecision;
    try {
      after = candidate.decideProposal(query);
    } catch (err) {
      why((err as Error).message);
      continue;
    }
    report.checked += 1;
    const [was, would] = [verdict(a.decided), verdict(after)];
    if (was.decision !== would.decision || was.approvalsRequired !== would.approvalsRequired)
      report.changes.push({
        actionId: a.actionId,
        task: a.task,
        status: a.status,
        source: a.source,
        before: was,
        after: would,
      });
  }
  return report;
}

type Event = { kind?: string; data?: unknown };

/**
 * The decided action a final audit record holds: its proposal, admission (agent, user, policy) and the plan the
 * decision was made on. Undefined for what policy never decided on (invalid proposals) and for dry runs.
 */
export function recordedFromAudit(record: AuditRecord): RecordedAction | undefined {
  const events = record.events as Event[];
  const proposal = events.find((e) => e.kind === 'proposed')?.data as
    { payload?: { dryRun?: boolean }; input?: unknown } | undefined;
  const admission = events.find((e) => e.kind === 'validated')?.data as
    { ok?: boolean; agent?: string; user?: string; policy?: PolicyDecision; plan?: RecordedAction['plan'] } | undefined;
  if (!proposal || proposal.payload?.dryRun || !admission?.ok || !admission.policy || !admission.agent)
    return undefined;
  // The plan the decision was made on: admission's, else the first one made (a task that reads its plan has one).
  const plan = admission.plan ?? (events.find((e) => e.kind === 'planned')?.data as RecordedAction['plan']);
  return {
    actionId: record.actionId,
    status: record.status,
    source: 'audit log',
    agent: canonicalPersonId(admission.agent),
    user: admission.user,
    task: record.task,
    input: proposal.input,
    ...(plan ? { plan } : {}),
    decided: admission.policy,
  };
}
