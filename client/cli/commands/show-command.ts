import { visible } from '../../../common/terminal-text';
import { actionWithoutWorker } from '../../action-from-history';
import { AirlockError } from '../../../common/errors';
import { actionJson, bold, formatAction, relative, statusColor } from '../format';
import { airlock, color, print } from '../cli-context';

/** How long `show` waits for a worker to answer before it shows the action from its history. */
export const SHOW_QUERY_MS = 5000;

/**
 * `airlock show <action-id>`: an action's status, plan and diff, approvals and result, as its worker answers for it;
 * when no worker answers in time, what Temporal holds of it (its memo, unchecked, and its history so far).
 */
export async function showCommand(id: string): Promise<void> {
  const client = await airlock();
  let state;
  try {
    state = await client.get(id, { queryTimeoutMs: SHOW_QUERY_MS });
  } catch (err) {
    // Unknown actions and plans that fail their check are Airlock's own errors: said as they are. Anything else is
    // a worker that did not answer (busy or down): the action is shown from what Temporal holds of it.
    if (err instanceof AirlockError) throw err;
    const a = await actionWithoutWorker(client, id);
    const memo = a.memo
      ? `  ${visible(a.memo.summary ?? '')}\n  approvals ${a.memo.approvals}/${a.memo.approvalsRequired} · expires ${a.memo.expiresAt ? relative(a.memo.expiresAt) : '?'} (from its memo, unchecked)\n`
      : '';
    print(
      `${bold(visible(a.id), color)}  ${visible(a.task ?? '?')}  [${visible(a.risk ?? '?')}]  ${statusColor(a.status ?? '?', color)}  by ${visible(a.requester ?? '?')}\n${memo}` +
        `No worker answered for it within ${SHOW_QUERY_MS / 1000} s (busy or down: ${visible((err as Error).message)}). Its history so far:\n` +
        a.history.map((e) => `  ${e.at}  ${e.summary}`).join('\n'),
      { ...a, unavailable: (err as Error).message },
    );
    return;
  }
  print(formatAction(state, color), actionJson(state));
}
