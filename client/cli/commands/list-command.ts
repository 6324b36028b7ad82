import { visible } from '../../../common/terminal-text';
import type { ActionSummary } from '../../action-list';
import { bold, relative, statusColor } from '../format';
import { parseCount, parseStatuses, parseTime } from '../cli-args';
import { airlock, color, print } from '../cli-context';

/** What `airlock list` was asked for. */
export interface ListOptions {
  status?: string;
  task?: string;
  agent?: string;
  since?: string;
  before?: string;
  limit: string;
  page?: string;
}

const summaryLine = (a: ActionSummary) =>
  `${bold(visible(a.id), color)}  ${visible(a.task)}  ${statusColor(a.status, color)}  [${visible(a.risk)}]  by ${visible(a.requester)}${a.agent && a.agent !== a.requester ? ` via ${visible(a.agent)}` : ''}  started ${relative(a.startedAt.toISOString())}`;

/**
 * `airlock list`: actions, newest first, from their search attributes (no worker needed), a page at a time; the next
 * page's command line is printed quoted for a POSIX shell.
 */
export async function listCommand(o: ListOptions): Promise<void> {
  const filter = {
    status: parseStatuses(o.status),
    task: o.task,
    agent: o.agent,
    since: o.since ? parseTime('--since', o.since) : undefined,
    before: o.before ? parseTime('--before', o.before) : undefined,
  };
  const page = await (
    await airlock()
  ).listPage(filter, { pageSize: parseCount('--limit', o.limit, 1), pageToken: o.page });
  const again = process.argv
    .slice(2)
    .filter((arg, i, all) => arg !== '--page' && all[i - 1] !== '--page' && arg !== '--json');
  const human = page.actions.length ? page.actions.map(summaryLine).join('\n') : 'No actions match.';
  const more = page.nextPageToken
    ? `\nmore: airlock ${again.map((a) => (/^[\w.,:@/-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')} --page ${page.nextPageToken}`
    : '';
  print(`${human}${more}`, page);
}
