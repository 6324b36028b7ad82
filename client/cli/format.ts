import type { ActionState, DiffEntry } from '../../common/types';
import { diffValues } from '../../lib/diff';

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
}

const paint = (code: number) => (s: string, on: boolean) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const bold = paint(1);
export const dim = paint(2);

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'undefined');

/** A plan's diff as lines: `- old` in red, `+ new` in green, `~ path` for changes. */
export function formatDiff(diff: DiffEntry[], color: boolean): string[] {
  if (!diff.length) return [dim('  (no change)', color)];
  return diff.flatMap((d) => {
    if (d.op === 'add') return [green(`  + ${d.path}: ${show(d.after)}`, color)];
    if (d.op === 'remove') return [red(`  - ${d.path}: ${show(d.before)}`, color)];
    return [`  ~ ${d.path}`, red(`      - ${show(d.before)}`, color), green(`      + ${show(d.after)}`, color)];
  });
}

/** How long until (positive) or since (negative) a time, in words. */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text = abs < 60_000 ? `${Math.round(abs / 1000)}s` : abs < 3_600_000 ? `${Math.round(abs / 60_000)}m` : abs < 86_400_000 ? `${(abs / 3_600_000).toFixed(1)}h` : `${(abs / 86_400_000).toFixed(1)}d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** `airlock show` for people. */
export function formatAction(s: ActionState, color: boolean): string {
  const lines = [
    `${bold(s.id, color)}  ${s.task}  ${statusColor(s.status, color)}`,
    `  requested by ${s.agent}${s.user ? ` for ${s.user}` : ''}${s.reason ? ` — "${s.reason}"` : ''}`,
    `  risk ${s.risk ?? '?'}${s.dryRun ? ' · dry run' : ''} · created ${s.createdAt}`,
  ];
  if (s.policy) lines.push(`  policy: ${s.policy.decision} (${s.policy.policyIds.join(', ') || 'no policy matched'}) — ${s.policy.explanation}`);
  if (s.issues?.length) lines.push('  input issues:', ...s.issues.map((i) => `    ${i.path.join('.')}: ${i.message}`));
  if (s.plan) {
    const approved = s.stalePlans.at(-1);
    if (approved) {
      lines.push(
        yellow(`  The target changed after plan ${approved.hash.slice(0, 12)} was approved; the new plan needs new approvals.`, color),
        `  approved plan ${approved.hash}:`,
        ...formatDiff(approved.diff, color),
        '  what changed at the target since (approved "before" → current "before"):',
        ...formatDiff(diffValues(approved.before, s.plan.before), color),
      );
    }
    lines.push(`  plan ${s.plan.hash}`, `  target ${s.plan.target}`, `  ${bold(s.plan.summary, color)}`);
    for (const e of s.plan.sideEffects) lines.push(`    • ${e}`);
    lines.push(...formatDiff(s.plan.diff, color));
  }
  if (s.approvalsRequired) {
    lines.push(`  approvals ${s.approvedBy.length}/${s.approvalsRequired}${s.approvedBy.length ? ` (${s.approvedBy.join(', ')})` : ''}${s.expiresAt && (s.status === 'awaiting_approval' || s.status === 'stale') ? ` · expires ${relative(s.expiresAt)}` : ''}`);
  }
  for (const a of s.approvals) {
    lines.push(`    ${a.at} ${a.approver} ${a.decision}: ${a.accepted ? green('accepted', color) : red(`refused (${a.refusal?.code}) ${a.refusal?.message}`, color)}`);
  }
  if (s.result) lines.push(`  result: ${JSON.stringify(s.result.output)}`);
  if (s.error) lines.push(red(`  error ${s.error.type}: ${s.error.message}`, color));
  return lines.join('\n');
}

/** A status word, coloured by outcome. */
export function statusColor(status: string, color: boolean): string {
  if (status === 'succeeded' || status === 'planned') return green(status, color);
  if (['failed', 'invalid', 'denied', 'rejected', 'expired', 'stale', 'cancelled'].includes(status)) return red(status, color);
  return yellow(status, color);
}

/** The JSON form of an action: every documented key present, `null` where there is nothing yet. */
export function actionJson(s: ActionState): Omit<ActionState, 'plan' | 'result' | 'error'> & { plan: ActionState['plan'] | null; result: ActionState['result'] | null; error: ActionState['error'] | null } {
  return { ...s, plan: s.plan ?? null, result: s.result ?? null, error: s.error ?? null };
}
