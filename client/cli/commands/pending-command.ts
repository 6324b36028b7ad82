import { visible } from '../../../common/terminal-text';
import { pendingPage } from '../../pending-page';
import { bold, red, relative, statusColor } from '../format';
import { parseCount } from '../cli-args';
import { airlock, color, print } from '../cli-context';

/** What `airlock pending` was asked for. */
export interface PendingOptions {
  task?: string;
  agent?: string;
  limit: string;
  offset: string;
}

/**
 * `airlock pending`: every action awaiting a decision, oldest first (they wait longest and must not be hidden by new
 * proposals), a page at a time, from visibility: the same time with 10 or 10,000 waiting, and a row whose worker is
 * busy or away is still listed, from its memo.
 */
export async function pendingCommand(o: PendingOptions): Promise<void> {
  const [limit, offset] = [parseCount('--limit', o.limit, 1), parseCount('--offset', o.offset, 0)];
  const { rows, total } = await pendingPage(await airlock(), { task: o.task, agent: o.agent, pageSize: limit, offset });
  const human = rows.length
    ? rows
        .map(
          (r) =>
            `${bold(visible(r.id), color)}  ${visible(r.task)}  [${visible(r.risk ?? '?')}]  by ${visible(r.requester)}  proposed ${relative(r.createdAt)}${r.status === 'awaiting_reapproval' ? `  ${statusColor('the target changed: review the new plan', color)}` : ''}\n` +
            (r.planMismatch
              ? `  ${red('DO NOT APPROVE', color)}: ${visible(r.unavailable ?? '')}`
              : r.unavailable
                ? `${r.summary ? `  ${visible(r.summary)}\n  approvals ${r.approvals}/${r.approvalsRequired} · expires ${r.expiresAt ? relative(r.expiresAt) : '?'} (from its memo, unchecked)\n` : ''}  details unavailable: no worker answered for it in time (busy or down: ${visible(r.unavailable)}); \`airlock show ${visible(r.id)}\` checks it`
                : `  ${visible(r.summary ?? '')}\n  approvals ${r.approvals}/${r.approvalsRequired} · expires ${r.expiresAt ? relative(r.expiresAt) : '?'}`),
        )
        .join('\n')
    : offset && total
      ? `No pending actions past the first ${total}.`
      : 'Nothing awaits approval.';
  const range =
    total > rows.length && rows.length
      ? `\n${offset + 1}–${offset + rows.length} of ${total} pending, oldest first${offset + rows.length < total ? `; next: airlock pending --offset ${offset + rows.length}` : ''}`
      : '';
  print(`${human}${range}`, rows);
}
