import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';
import { reserveUsageUpdate, settleUsageSignal, usageEntriesQuery } from '../common/messages';
import { isUndecodable } from '../common/undecodable';
import {
  UsageBook,
  type BookEntry,
  type ReservationAnswer,
  type ReservationRequest,
  type Settlement,
} from '../common/usage-book';

/** What a usage ledger starts with: its task, its window, and what its previous run still counted or had to ask. */
export interface UsageLedgerArgs {
  task: string;
  windowMs: number;
  /** What the previous run counted; absent on a fresh start, when the book is rebuilt from the audit log. */
  carried?: BookEntry[];
  /** Actions the previous run was told had ended, not yet asked about. */
  ended?: string[];
  /** History length at which it continues as new (2,000 unless a test says otherwise). */
  continueAtEvents?: number;
}

/** How long a reservation may go unsettled before the ledger asks about it itself (a settle signal may be lost). */
export const SWEEP_AFTER_MS = 10 * 60 * 1000;
/** History length at which a ledger continues as new, carrying only what still counts. */
const CONTINUE_AT_EVENTS = 2_000;
/** Actions asked about per activity. */
const SETTLE_BATCH = 100;

/** Asking the audit log (how actions ended; what to rebuild the book from): a few tries per round. */
const auditReader = proxyActivities<AirlockActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
const SETTLEMENTS: readonly unknown[] = ['committed', 'released', 'running'] satisfies Settlement[];

/** What a reservation must look like before it reaches history: anything else is refused, and nothing counts it. */
function checkReservation(r: unknown): asserts r is ReservationRequest {
  const x = r as Partial<ReservationRequest> | undefined;
  if (
    isUndecodable(r) ||
    !x ||
    !text(x.actionId, 64) ||
    !text(x.runId, 64) ||
    !text(x.agent, 200) ||
    !text(x.requester, 200) ||
    !text(x.nonce, 64) ||
    !Number.isSafeInteger(x.amount) ||
    (x.amount as number) < 0
  )
    throw ApplicationFailure.nonRetryable('Not a reservation an Airlock worker makes.', 'AIRLOCK_BAD_RESERVATION');
}

/** An entry as the rebuild activity must give it; anything else is not used. */
function isEntry(e: unknown): e is BookEntry {
  const x = e as Partial<BookEntry> | undefined;
  return Boolean(
    x &&
    text(x.actionId, 64) &&
    text(x.runId, 64) &&
    text(x.agent, 200) &&
    text(x.requester, 200) &&
    Number.isSafeInteger(x.amount) &&
    Number.isSafeInteger(x.reservedAt) &&
    (x.committedAt === undefined || Number.isSafeInteger(x.committedAt)),
  );
}

/**
 * A counted task's usage ledger: one long-running workflow per task that counts its actions for `context.recent`.
 * Reservations arrive as Updates, one at a time, before policy decides on a proposal; a settle Signal (or the ledger's
 * own sweep) makes it ask the audit log how an action ended, and it keeps the reservation (it executed) or gives it
 * back (anything else). It continues as new carrying only what still counts; started afresh (the first time, or after
 * someone ended it), it first rebuilds its book from the audit log, where every reservation is recorded.
 *
 * Contract:
 * - it must count every reservation from the moment it answers it, and answer a repeated one the same (a larger
 *   amount excepted), echoing the request's nonce so that no old answer passes for a new one;
 * - it must not give a reservation back on anyone's word: only on the audit log's, through its activity; an answer
 *   it cannot use (undecodable, failed, malformed) changes nothing;
 * - it must refuse, before history, what is not a reservation, and any reservation once the book (or the agent's
 *   share of it) is full.
 */
export async function usageLedgerWorkflow(args: UsageLedgerArgs): Promise<void> {
  const book = new UsageBook(args.windowMs, args.carried ?? []);
  const ended = new Set<string>(args.ended ?? []);
  let ready = args.carried !== undefined;

  setHandler(
    reserveUsageUpdate,
    async (r): Promise<ReservationAnswer> => {
      if (!ready) await condition(() => ready);
      const refused = book.refusal(r);
      if (refused)
        throw ApplicationFailure.nonRetryable(
          `The usage ledger of ${args.task} refuses this reservation: ${refused}.`,
          'AIRLOCK_LEDGER_REFUSED',
        );
      const figures = book.reserve(r, Date.now());
      return { ...figures, echo: { nonce: r.nonce, actionId: r.actionId, amount: r.amount } };
    },
    {
      validator: (r) => {
        checkReservation(r);
        const refused = ready ? book.refusal(r) : undefined;
        if (refused)
          throw ApplicationFailure.nonRetryable(
            `The usage ledger of ${args.task} refuses this reservation: ${refused}.`,
            'AIRLOCK_LEDGER_REFUSED',
          );
      },
    },
  );
  setHandler(settleUsageSignal, (s) => {
    if (!isUndecodable(s) && text(s?.actionId, 64)) ended.add(s.actionId);
  });
  setHandler(usageEntriesQuery, () => book.live(Date.now()));

  if (!ready) {
    await rebuild(args, book);
    ready = true;
  }
  const tooLong = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength > (args.continueAtEvents ?? CONTINUE_AT_EVENTS);
  for (;;) {
    await condition(() => ended.size > 0 || tooLong(), SWEEP_AFTER_MS);
    const ask = [...new Set([...ended, ...book.unsettled(Date.now() - SWEEP_AFTER_MS)])].slice(0, SETTLE_BATCH);
    for (const id of ask) ended.delete(id);
    const actions = ask.flatMap((actionId) => {
      const runId = book.runOf(actionId);
      return runId ? [{ actionId, runId }] : [];
    });
    if (actions.length) {
      const answers = await settlements(args.task, actions);
      for (const { actionId } of actions) book.settle(actionId, answers[actionId] ?? 'running', Date.now());
    }
    if (tooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof usageLedgerWorkflow>({
        ...args,
        carried: book.prune(Date.now()),
        ended: [...ended],
      });
    }
  }
}

/** How actions ended, from the audit log; whatever cannot be used (a failure, an undecodable answer) is "running". */
async function settlements(
  task: string,
  actions: { actionId: string; runId: string }[],
): Promise<Record<string, Settlement>> {
  try {
    const answers: unknown = await auditReader.settleUsage({ task, actions });
    if (isUndecodable(answers) || !answers || typeof answers !== 'object') return {};
    return Object.fromEntries(
      Object.entries(answers as Record<string, unknown>).filter(([, how]) => SETTLEMENTS.includes(how)),
    ) as Record<string, Settlement>;
  } catch {
    return {}; // asked again at the next sweep
  }
}

/** Fills a fresh ledger's book from the audit log's reservations, trying until an answer for this request comes. */
async function rebuild(args: UsageLedgerArgs, book: UsageBook): Promise<void> {
  for (;;) {
    const nonce = uuid4();
    try {
      const answer: unknown = await auditReader.usageSince({ task: args.task, windowMs: args.windowMs, nonce });
      const a = answer as { nonce?: unknown; entries?: unknown } | undefined;
      if (!isUndecodable(answer) && a?.nonce === nonce && Array.isArray(a.entries)) {
        for (const e of a.entries) if (isEntry(e)) book.restore(e);
        return;
      }
    } catch {
      // tried again below
    }
    await sleep('5 seconds');
  }
}
