import { visible } from '../common/terminal-text';
import type { ActionRequest, ActionState } from '../common/types';

/**
 * What Temporal's Web UI shows of an action, as the `pending` list does: a summary line in the workflow list (set by
 * the client at start, from the proposal) and the workflow's current details (set by the workflow each time it
 * publishes: task, target, status, the plan's summary, approvals). Both are Temporal markdown, and both go through the
 * payload codec (the UI shows them through the codec server, as it shows the memo). Workflow-safe, pure.
 *
 * Contract: every value that came from an agent, an approver or a target is escaped, so that none can become a link,
 * an image, emphasis or a line of its own; the summary stays within the UI's 200 bytes.
 */

/**
 * Text made inert in markdown: control characters (line breaks included) made visible escapes, and every character
 * markdown gives a meaning backslash-escaped: emphasis, code, links and images, headings, lists, tables, HTML, and the
 * `:` and `.` that autolinks (`http://`, `www.`, `a@b.c`) need.
 */
export function markdownText(value: unknown): string {
  return visible(value).replace(/[\\`*_{}[\]()#+\-.!|<>~:]/g, '\\$&');
}

/** The summary line's limit in the Web UI (bytes). */
const SUMMARY_MAX_BYTES = 200;

/** `text` cut to at most `max` UTF-8 bytes, without cutting a character in two or leaving a lone backslash at the end. */
function withinBytes(text: string, max: number): string {
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  if (bytes(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (bytes(`${out}${ch}…`) > max) break;
    out += ch;
  }
  return `${out.replace(/\\$/, '')}…`;
}

/** The workflow list's summary of a proposal: task, for whom, by which agent (the proposer's own claim until admitted). */
export function proposalSummary(request: Pick<ActionRequest, 'task' | 'agent' | 'user'>): string {
  const by = request.user
    ? `${markdownText(request.user)} (agent ${markdownText(request.agent)})`
    : markdownText(request.agent);
  return withinBytes(`${markdownText(request.task)} by ${by}`, SUMMARY_MAX_BYTES);
}

/** Statuses in words, as `pending` and `show` say them. */
const STATUS_WORDS: Record<string, string> = {
  awaiting_approval: 'awaiting approval',
  awaiting_reapproval: 'awaiting approval of a changed plan',
};

/** The workflow's current details: what the action is, where it stands, and its plan once made. */
export function actionDetails(state: ActionState): string {
  const status = STATUS_WORDS[state.status] ?? state.status;
  const target = state.plan ? ` on ${markdownText(state.plan.target)}` : '';
  const lines = [`**${markdownText(state.task)}**${target} · ${markdownText(status)}`];
  if (state.plan) lines.push(markdownText(state.plan.summary));
  const requester = `requested by ${markdownText(state.requester)}${state.user ? ` (agent ${markdownText(state.agent)})` : ''}`;
  const approvals =
    state.approvalsRequired > 0 ? ` · approvals ${state.approvedBy.length}/${state.approvalsRequired}` : '';
  const expires = state.expiresAt && state.status in STATUS_WORDS ? ` · expires ${markdownText(state.expiresAt)}` : '';
  const plan = state.plan ? ` · plan ${markdownText(state.plan.hash.slice(0, 12))}` : '';
  lines.push(`${requester}${approvals}${expires}${plan}`);
  if (state.error) lines.push(markdownText(state.error.type));
  return lines.join('\n\n');
}
