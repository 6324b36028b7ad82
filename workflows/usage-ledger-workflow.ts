import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';
import { reserveUsageUpdate, settleUsageSignal, usageEntriesQuery } from '../common/messages';
import { isUndecodable } from '../common/undecodable';
import { MAX_BOOK_ENTRIES, UsageBook, type BookEntry, type Reservation } from '../common/usage-book';
import { decoded } from './evidence-guards';

/** What a usage ledger starts with: its task, its window, and what its previous run still counted. */
export interface UsageLedgerArgs {
  task: string;
  windowMs: number;
  carried?: BookEntry[];
}

/** How long a reservation may go unsettled before the ledger asks about it itself (a settle signal may be lost). */
export const SWEEP_AFTER_MS = 10 * 60 * 1000;
/** History length at which a ledger continues as new, carrying only what still counts. */
const CONTINUE_AT_EVENTS = 2_000;

/** Asking the audit log how actions ended: retried until it answers. */
const settling = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;

/** What a reservation must look like before it reaches history: anything else is refused, and nothing counts it. */
function checkReservation(r: unknown): asserts r is Reservation {
  const x = r as Partial<Reservation> | undefined;
  if (
    isUndecodable(r) ||
    !x ||
    !text(x.actionId, 200) ||
    !text(x.runId, 100) ||
    !text(x.agent, 200) ||
    !text(x.requester, 200) ||
    !Number.isSafeInteger(x.amount) ||
    (x.amount as number) < 0
  )
    throw ApplicationFailure.nonRetryable('Not a reservation an Airlock worker makes.', 'AIRLOCK_BAD_RESERVATION');
}

/**
 * A counted task's usage ledger: one long-running workflow per task that counts its actions for `context.recent`.
 * Reservations arrive as Updates, one at a time, before policy decides on a proposal; a settle Signal (or the ledger's
 * own sweep) makes it ask the audit log how an action ended, and it keeps the reservation (succeeded or executed) or
 * gives it back (anything else). It continues as new carrying only what still counts.
 *
 * Contract:
 * - it must count every reservation from the moment it answers it, and answer a repeated one the same;
 * - it must not give a reservation back on anyone's word: only on the audit log's, through its activity;
 * - it must refuse, before history, what is not a reservation (undecodable, malformed), and any reservation once full.
 */
export async function usageLedgerWorkflow(args: UsageLedgerArgs): Promise<void> {
  const book = new UsageBook(args.windowMs, args.carried ?? []);
  const ended = new Set<string>();
  setHandler(reserveUsageUpdate, (r) => book.reserve(r, Date.now()), {
    validator: (r) => {
      checkReservation(r);
      if (book.size >= MAX_BOOK_ENTRIES)
        throw ApplicationFailure.nonRetryable(
          `The usage ledger of ${args.task} holds ${MAX_BOOK_ENTRIES} actions in flight; wait for some to finish.`,
          'AIRLOCK_LEDGER_FULL',
        );
    },
  });
  setHandler(settleUsageSignal, (s) => {
    if (!isUndecodable(s) && text(s?.actionId, 200)) ended.add(s.actionId);
  });
  setHandler(usageEntriesQuery, () => book.prune(Date.now()));

  for (;;) {
    await condition(() => ended.size > 0 || workflowInfo().continueAsNewSuggested, SWEEP_AFTER_MS);
    const ask = [...new Set([...ended, ...book.unsettled(Date.now() - SWEEP_AFTER_MS)])];
    ended.clear();
    if (ask.length) {
      const actions = ask.flatMap((actionId) => {
        const runId = book.runOf(actionId);
        return runId ? [{ actionId, runId }] : [];
      });
      const answers = actions.length ? decoded(await settling.settleUsage({ task: args.task, actions })) : {};
      for (const id of ask) book.settle(id, answers[id] ?? 'running', Date.now());
    }
    // Only with nothing left to ask: a settle not yet asked about would wait for the next run's sweep.
    if (!ended.size && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > CONTINUE_AT_EVENTS)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof usageLedgerWorkflow>({ ...args, carried: book.prune(Date.now()) });
    }
  }
}
