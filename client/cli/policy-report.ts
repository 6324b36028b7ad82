import type { AuditStore } from '../../audit/audit-store';
import { policyInWords } from '../../common/policy-words';
import { ACTION_STATUSES, FINAL_STATUSES, type ActionStatus } from '../../common/statuses';
import { visible } from '../../common/terminal-text';
import type { ActionState } from '../../common/types';
import { recordedFromAudit, type BackTestReport, type RecordedAction, type Verdict } from '../../policy/back-test';
import type { AirlockClient } from '../airlock-client';
import { bold, red } from './format';

const v = visible;

/** The statuses of an action still running (decided on, not finished). */
const RUNNING: ActionStatus[] = ACTION_STATUSES.filter(
  (s) => !(FINAL_STATUSES as readonly string[]).includes(s) && s !== 'validating',
);

/**
 * The decided actions `airlock policy test` asks about: every finished one in the audit log (its last record per
 * action) and, with a client, every running one as its workflow holds it (a running one wins over a record).
 */
export async function recordedActions(sources: {
  auditLog?: AuditStore;
  client?: AirlockClient;
}): Promise<RecordedAction[]> {
  const byId = new Map<string, RecordedAction>();
  for (const record of (await sources.auditLog?.read()) ?? []) {
    if (record.kind !== 'final') continue;
    const recorded = recordedFromAudit(record);
    if (recorded) byId.set(recorded.actionId, recorded);
  }
  if (sources.client) {
    const running = await sources.client.list({ status: RUNNING, limit: Number.MAX_SAFE_INTEGER });
    for (const summary of running) {
      const s = await sources.client.get(summary.id).catch(() => undefined);
      const recorded = s && recordedFromState(s);
      if (recorded) byId.set(recorded.actionId, recorded);
    }
  }
  return [...byId.values()];
}

/** A running action as a decided one, once policy has decided on it (never a dry run). */
export function recordedFromState(s: ActionState): RecordedAction | undefined {
  if (!s.policy || s.dryRun || s.input === undefined) return undefined;
  return {
    actionId: s.id,
    status: s.status,
    source: 'running',
    agent: s.agent,
    user: s.user,
    task: s.task,
    input: s.input,
    // The plan the decision was made on: the first (a changed plan is decided on again at execution).
    ...((s.stalePlans[0] ?? s.plan) ? { plan: s.stalePlans[0] ?? s.plan } : {}),
    decided: s.policy,
  };
}

const verdictText = (x: Verdict) =>
  x.decision === 'allow'
    ? `allow after ${v(String(x.approvalsRequired))} approval${x.approvalsRequired === 1 ? '' : 's'}`
    : 'deny';

/** A back-test's report for people: one line per change with the policies that decide it now and would. */
export function formatBackTest(report: BackTestReport, candidateDir: string, color: boolean): string {
  const lines = report.changes.map(
    (c) =>
      `${bold(v(c.actionId), color)}  ${v(c.task)}  [${v(c.status)}, ${c.source}]\n` +
      `  now:   ${verdictText(c.before)} (${v(c.before.policyIds.join(', ') || 'no policy matched')})\n` +
      `  would: ${red(verdictText(c.after), color)} (${v(c.after.policyIds.join(', ') || 'no policy matched')})`,
  );
  const skipped = report.skipped.map((s) => `  skipped ${v(s.actionId)}: ${v(s.why)}`);
  const verdict = report.changes.length
    ? `${report.changes.length} of ${report.checked} action(s) would be decided differently under ${v(candidateDir)}.`
    : `No change: all ${report.checked} action(s) would be decided as they were under ${v(candidateDir)}.`;
  return [...lines, ...skipped, verdict].join('\n');
}

/** Which policies and facts decided an action, for people. */
export function formatExplain(s: ActionState, color: boolean): string {
  const p = s.policy;
  if (!p) return `${bold(v(s.id), color)}  ${v(s.task)}: policy never decided on it (${v(s.status)}).`;
  const [verdict, ...more] = policyInWords(p);
  const facts = (name: string, record: object | undefined) =>
    record && Object.keys(record).length
      ? [`  ${name}:`, ...Object.entries(record).map(([k, value]) => `    ${v(k)} = ${v(JSON.stringify(value))}`)]
      : [];
  const recent = p.recent
    ? [
        '  recent (with this action):',
        ...(['agent', 'user', 'task'] as const).map(
          (scope) =>
            `    ${scope}: ${v(String(p.recent![scope].count))} action(s), total ${v(String(p.recent![scope].total))}`,
        ),
      ]
    : [];
  return [
    `${bold(v(s.id), color)}  ${v(s.task)}  ${v(s.status)}  by ${v(s.agent)}${s.user ? ` for ${v(s.user)}` : ''}`,
    `  decision: ${v(verdict)}`,
    ...more.map((line) => `  ${v(line)}`),
    `  deciding policies: ${v(p.policyIds.join(', ') || 'none (nothing permits it)')}`,
    ...(p.raisedBy?.length ? [`  approvals raised by: ${v(p.raisedBy.join(', '))}`] : []),
    ...facts('input facts (context.facts)', p.facts),
    ...facts('plan facts (context.plan)', p.planFacts),
    ...recent,
  ].join('\n');
}
