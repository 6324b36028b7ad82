import { policyInWords } from '../../common/policy-words';
import type { ActionState, DiffEntry, Plan, ReadBackVerification } from '../../common/types';
import { differenceInWords, verificationInWords } from '../../common/read-back';
import { diffValues } from '../../common/plan-diff';
import { visible as v } from '../../common/terminal-text';
import { DECIDING_STATUSES } from '../../common/statuses';

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

/** A value as the diff shows it: JSON, with every control, bidi and invisible character escaped. */
const show = (x: unknown): string => v(JSON.stringify(x) ?? 'undefined');

/** A plan's diff as lines: `- old` in red, `+ new` in green, `~ path` for changes. */
export function formatDiff(diff: DiffEntry[], color: boolean): string[] {
  if (!diff.length) return [dim('  (no change)', color)];
  return diff.flatMap((d) => {
    if (d.op === 'add') return [green(`  + ${v(d.path)}: ${show(d.after)}`, color)];
    if (d.op === 'remove') return [red(`  - ${v(d.path)}: ${show(d.before)}`, color)];
    return [`  ~ ${v(d.path)}`, red(`      - ${show(d.before)}`, color), green(`      + ${show(d.after)}`, color)];
  });
}

/** How long until (positive) or since (negative) a time, in words. */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 86_400_000
          ? `${(abs / 3_600_000).toFixed(1)}h`
          : `${(abs / 86_400_000).toFixed(1)}d`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A plan as a person reviews it before signing: target, summary, side effects, diff and the full hash. */
export function formatPlan(plan: Plan, color: boolean): string[] {
  return [
    `  plan ${v(plan.hash)}`,
    `  target ${v(plan.target)}`,
    `  ${bold(v(plan.summary), color)}`,
    ...plan.sideEffects.map((e) => `    • ${v(e)}`),
    ...formatDiff(plan.diff, color),
  ];
}

/**
 * `airlock show` for people. Every value that came from an agent, an approver or a target is escaped: control
 * characters, escape sequences and bidi overrides are shown, never obeyed.
 */
export function formatAction(s: ActionState, color: boolean): string {
  const lines = [
    `${bold(v(s.id), color)}  ${v(s.task)}  ${statusColor(s.status, color)}` +
      (s.result?.verification?.status === 'differs' ? `  ${red('(read back differs from the plan)', color)}` : ''),
    `  requested by ${v(s.agent)}${s.user ? ` for ${v(s.user)}` : ''}${s.reason ? ` — "${v(s.reason)}"` : ''}${s.owners?.length ? ` (agent owned by ${v(s.owners.join(', '))})` : ''}`,
    `  risk ${v(s.risk ?? '?')}${s.dryRun ? ' · dry run' : ''} · created ${v(s.createdAt)}`,
  ];
  if (s.policy) {
    const [verdict, ...more] = policyInWords(s.policy);
    lines.push(`  policy: ${v(verdict)}`, ...more.map((line) => `    ${v(line)}`));
  }
  if (s.issues?.length)
    lines.push('  issues:', ...s.issues.map((i) => `    ${v(i.path.join('.'))} (${v(i.code)}): ${v(i.message)}`));
  if (s.plan) {
    const approved = s.stalePlans.at(-1);
    if (approved) {
      lines.push(
        yellow(
          `  The target changed after plan ${v(approved.hash.slice(0, 12))} was approved; the new plan needs new approvals.`,
          color,
        ),
        `  approved plan ${v(approved.hash)}:`,
        ...formatDiff(approved.diff, color),
        '  what changed at the target since (approved "before" → current "before"):',
        ...formatDiff(diffValues(approved.before, s.plan.before), color),
      );
    }
    lines.push(...formatPlan(s.plan, color));
  }
  if (s.approvalsRequired) {
    lines.push(
      `  approvals ${s.approvedBy.length}/${s.approvalsRequired}${s.approvedBy.length ? ` (${v(s.approvedBy.join(', '))})` : ''}` +
        `${s.expiresAt && DECIDING_STATUSES.includes(s.status) ? ` · expires ${relative(s.expiresAt)}` : ''}`,
    );
  }
  for (const a of s.approvals) {
    lines.push(
      `    ${v(a.at)} ${v(a.approver)} ${v(a.decision)}: ${a.accepted ? green('accepted', color) : red(`refused (${v(a.refusal?.code)}) ${v(a.refusal?.message)}`, color)}`,
    );
  }
  if (s.refusalsNotKept) lines.push(`    … and ${s.refusalsNotKept} more refused attempt(s), kept in the history only`);
  const early = s.refusedBeforeHistory;
  if (early?.total) {
    const codes = Object.entries(early.byCode)
      .map(([code, n]) => `${v(code)} ${n}`)
      .join(', ');
    lines.push(yellow(`  ${early.total} decision message(s) refused before history (${codes})`, color));
  }
  if (s.result) lines.push(`  result: ${v(JSON.stringify(s.result.output))}`);
  if (s.result?.verification) lines.push(...formatVerification(s.result.verification, color));
  if (s.error) lines.push(red(`  error ${v(s.error.type)}: ${v(s.error.message)}`, color));
  if (s.auditError) lines.push(red(`  audit record not written: ${v(s.auditError)}`, color));
  return lines.join('\n');
}

/**
 * What reading the target back after execution found, for `show`: a difference from the plan in red, a field a line,
 * so that nobody takes "succeeded" for "did what was planned" when it did not.
 */
export function formatVerification(verification: ReadBackVerification, color: boolean): string[] {
  if (verification.status === 'matches') return [green(`  ${verificationInWords(verification)}`, color)];
  if (verification.status === 'unverified') return [yellow(`  ${verificationInWords(verification)}`, color)];
  if (verification.status !== 'differs') return [dim(`  ${verificationInWords(verification)}`, color)];
  return [
    red(
      bold(
        `  READ BACK DIFFERS FROM THE PLAN: the target does not hold what was planned (read ${v(verification.readAt ?? '?')})`,
        color,
      ),
      color,
    ),
    ...(verification.differences ?? []).map((d) => red(`    ~ ${differenceInWords(d)}`, color)),
    ...(verification.moreDifferences ? [red(`    … and ${verification.moreDifferences} more field(s)`, color)] : []),
  ];
}

/** A status word, coloured by outcome. */
export function statusColor(status: string, color: boolean): string {
  if (status === 'succeeded' || status === 'planned') return green(status, color);
  if (['failed', 'invalid', 'denied', 'rejected', 'expired', 'stale', 'cancelled'].includes(status))
    return red(status, color);
  return yellow(status, color);
}

/** The JSON form of an action: every documented key present, `null` where there is nothing yet. */
export function actionJson(s: ActionState): Omit<ActionState, 'plan' | 'result' | 'error'> & {
  plan: ActionState['plan'] | null;
  result: ActionState['result'] | null;
  error: ActionState['error'] | null;
} {
  return { ...s, plan: s.plan ?? null, result: s.result ?? null, error: s.error ?? null };
}
