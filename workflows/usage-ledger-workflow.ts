import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { AirlockActivities } from '../activities';
import { reserveUsageUpdate, settleUsageSignal, usageEntriesQuery } from '../common/messages';
import { isUsageLedgerIdOf } from '../common/task-queue';
import { isUndecodable } from '../common/undecodable';
import {
  SWEEP_AFTER_MS,
  UsageBook,
  type BookEntry,
  type ReservationAnswer,
  type ReservationRequest,
  type Settlement,
} from '../common/usage-book';

/**
 * What a usage ledger starts with: its task, and what its previous run had been told had ended. Nothing else: anyone
 * who can start a workflow could start this one, so it takes its window and its counts from the audit log.
 */
export interface UsageLedgerArgs {
  task: string;
  /** Actions the previous run was told had ended, not yet asked about (asking changes nothing by itself). */
  ended?: string[];
  /** History length at which it continues as new (2,000; a test may ask for less, down to 40). */
  continueAtEvents?: number;
}

/** History length at which a ledger continues as new, starting again from the audit log. */
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
 * A counted task's usage ledger: one long-running workflow per task and queue that counts its actions for
 * `context.recent`. Each run starts by rebuilding its book from the audit log, where workers record every reservation
 * (so a ledger ended, or started in its place by someone else, counts what really happened). Reservations arrive as
 * Updates, one at a time, before policy decides on a proposal; a settle Signal (or its sweep every 10 minutes) makes
 * it ask the audit log how an action ended, and it keeps the reservation (its execution began) or gives it back
 * (anything else). It continues as new every 2,000 events.
 *
 * Contract:
 * - it must run only under its own id (its task's and queue's), and take nothing it counts from its arguments;
 * - it must count every reservation from the moment it answers it, and answer a repeated one the same (a larger
 *   amount excepted), echoing the request's nonce so that no old answer passes for a new one;
 * - it must not give a reservation back on anyone's word: only on the audit log's, through its activity; an answer
 *   it cannot use (undecodable, failed, malformed) changes nothing;
 * - it must refuse, before history, what is not a reservation, and any reservation once the book (or the agent's
 *   share of it) is full.
 */
export async function usageLedgerWorkflow(args: UsageLedgerArgs): Promise<void> {
  // Its id names its task: a ledger of one task under another's id would count the wrong actions. (Its queue is
  // checked by whoever reserves: only a run on Airlock's queue is believed.)
  const { workflowId } = workflowInfo();
  if (!isUsageLedgerIdOf(workflowId, String(args?.task)))
    throw ApplicationFailure.nonRetryable(
      `A usage ledger of ${String(args?.task)} runs only under its task's ledger id, not as ${workflowId}; nothing was counted.`,
      'AIRLOCK_LEDGER_MISPLACED',
    );
  const counting: { book?: UsageBook } = {};
  const ended = new Set<string>(Array.isArray(args.ended) ? args.ended.filter((id) => text(id, 64)) : []);
  const refused = (why: string) =>
    ApplicationFailure.nonRetryable(
      `The usage ledger of ${args.task} refuses this reservation: ${why}. Wait for some of the agent's actions to finish (or look into who sent it), then propose again.`,
      'AIRLOCK_LEDGER_REFUSED',
    );

  setHandler(
    reserveUsageUpdate,
    async (r): Promise<ReservationAnswer> => {
      if (!counting.book) await condition(() => counting.book !== undefined);
      const counted = counting.book as UsageBook;
      const why = counted.refusal(r);
      if (why) throw refused(why);
      const figures = counted.reserve(r, Date.now());
      return { ...figures, echo: { nonce: r.nonce, actionId: r.actionId, amount: r.amount } };
    },
    {
      validator: (r) => {
        checkReservation(r);
        const why = counting.book?.refusal(r);
        if (why) throw refused(why);
      },
    },
  );
  setHandler(settleUsageSignal, (s) => {
    if (!isUndecodable(s) && text(s?.actionId, 64)) ended.add(s.actionId);
  });
  setHandler(usageEntriesQuery, () => counting.book?.live(Date.now()) ?? []);

  const book = (counting.book = await rebuild(args.task));
  const continueAt = Math.max(40, args.continueAtEvents ?? CONTINUE_AT_EVENTS);
  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > continueAt;
  const lastAsked = new Map<string, number>();
  let swept = Date.now();
  for (;;) {
    await condition(() => ended.size > 0 || tooLong(), SWEEP_AFTER_MS);
    const now = Date.now();
    // The sweep, every 10 minutes: what was reserved before then and is not known to have ended, least recently
    // asked first (a long-waiting action does not keep the others from being asked).
    const sweep = now - swept >= SWEEP_AFTER_MS ? book.unsettled(now - SWEEP_AFTER_MS) : [];
    if (sweep.length) swept = now;
    sweep.sort((a, b) => (lastAsked.get(a) ?? 0) - (lastAsked.get(b) ?? 0));
    const ask = [...new Set([...ended, ...sweep])].slice(0, SETTLE_BATCH);
    for (const id of ask) {
      ended.delete(id);
      lastAsked.set(id, now);
    }
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
        task: args.task,
        ended: [...ended],
        ...(args.continueAtEvents ? { continueAtEvents: args.continueAtEvents } : {}),
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

/**
 * The book as the audit log has it (the task's window, and every reservation that still counts), trying until an
 * answer to this very request comes; each failure is logged, for whoever wonders why the task's proposals wait.
 */
async function rebuild(task: string): Promise<UsageBook> {
  for (;;) {
    const nonce = uuid4();
    try {
      const answer: unknown = await auditReader.usageSince({ task, nonce });
      const a = answer as { nonce?: unknown; windowMs?: unknown; entries?: unknown } | undefined;
      if (
        !isUndecodable(answer) &&
        a?.nonce === nonce &&
        Number.isSafeInteger(a.windowMs) &&
        (a.windowMs as number) > 0 &&
        Array.isArray(a.entries)
      ) {
        const book = new UsageBook(a.windowMs as number);
        for (const e of a.entries) if (isEntry(e)) book.restore(e);
        return book;
      }
      log.warn('usage ledger: the audit log answered something unusable; asking again', { task });
    } catch (err) {
      log.warn('usage ledger: cannot read the audit log to rebuild; reservations of the task wait', {
        task,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    await sleep('5 seconds');
  }
}
