/**
 * The rules of a counted task's usage ledger, pure (the ledger workflow holds one book and only orchestrates): which
 * actions count toward `context.recent`, reserved before policy decides and given back when they did not happen.
 *
 * Contract:
 * - a reservation must count from the moment it is made until it is released, so that two proposals decided at once
 *   see each other (a proposal counts itself too: policy asks "with this one, how much?");
 * - reserving the same action again must answer what the first reservation answered, so every decision on one
 *   action (admission, execution, a retry) is made on the same figures, unless it asks to count more (a changed
 *   plan): then it must count the larger amount;
 * - an action whose execution began must count for the window from when that is known; one released not at all;
 * - nothing else changes a figure.
 */

/** One scope's count and total. */
export interface Figures {
  count: number;
  total: number;
}

/** What a counted task's policy reads as `context.recent`. */
export interface UsageSnapshot {
  agent: Figures;
  user: Figures;
  task: Figures;
}

/** What a proposal reserves: one action, by whom, for how much (the task's `usage.sum` fact). */
export interface Reservation {
  actionId: string;
  runId: string;
  agent: string;
  /** The user the agent acts for, else the agent: `recent.user` is this requester's. */
  requester: string;
  amount: number;
}

/**
 * A reservation as sent: with a fresh random nonce that the answer must echo, so that an old answer (a ciphertext
 * copied from history by someone answering the ledger's tasks) is never taken for this one.
 */
export interface ReservationRequest extends Reservation {
  nonce: string;
}

/** The ledger's answer to a reservation: the figures, and what it answers (the request's nonce, action, amount). */
export interface ReservationAnswer extends UsageSnapshot {
  echo: { nonce: string; actionId: string; amount: number };
}

/** An action the book counts. */
export interface BookEntry extends Reservation {
  /** When it was reserved (ms). */
  reservedAt: number;
  /** When it was known to have succeeded (ms): it counts until the window has passed since. */
  committedAt?: number;
  /**
   * What its reservation answered: every later reservation of the same action answers the same. Not known of an
   * entry rebuilt from the audit log until it is reserved again (then it answers the figures of that moment).
   */
  answered?: UsageSnapshot;
}

/** How long a reservation may go unsettled before its ledger asks about it itself (a settle signal may be lost). */
export const SWEEP_AFTER_MS = 10 * 60 * 1000;

/** How an action ended, for its reservation: it happened, it did not, or it has not ended yet. */
export type Settlement = 'committed' | 'released' | 'running';

/**
 * The most actions one book holds, and one agent's share of them: beyond either a reservation is refused (the agent
 * waits for some to finish). Bounded so that what a ledger carries into its next run stays well inside Temporal's
 * payload limit (an entry is about 250 bytes: action ids have a fixed form, agents and requesters are registered).
 */
export const MAX_BOOK_ENTRIES = 4_000;
export const MAX_AGENT_ENTRIES = 1_000;

const zero = (): Figures => ({ count: 0, total: 0 });

/** A counted task's ledger: its actions in flight, and those whose execution began within the window. */
export class UsageBook {
  private readonly entries = new Map<string, BookEntry>();

  constructor(
    /** How long a success counts (ms). */
    private readonly windowMs: number,
    carried: readonly BookEntry[] = [],
  ) {
    for (const e of carried) this.entries.set(e.actionId, e);
  }

  /**
   * Reserves an action and answers the figures with it counted; the same action again answers the same figures,
   * unless it comes back for more (its plan changed): then it counts the larger amount, and answers the figures now.
   * The caller checks {@link refusal} first: a reservation it refuses must not reach here.
   */
  reserve(r: Reservation, now: number): UsageSnapshot {
    const known = this.entries.get(r.actionId);
    // An entry rebuilt from the audit log and not answered yet is answered as of its reservation: the reservations
    // recorded before it, and itself. Workers record a reservation before they send it, so a ledger that rebuilds
    // while many are in flight finds them all; answering each with all of them would refuse what fits the limit.
    if (known && r.amount <= known.amount) return (known.answered ??= this.figures(known, now, known.reservedAt));
    if (known) {
      known.amount = r.amount;
      known.answered = this.figures(known, now);
      return known.answered;
    }
    const entry: BookEntry = {
      actionId: r.actionId,
      runId: r.runId,
      agent: r.agent,
      requester: r.requester,
      amount: r.amount,
      reservedAt: now,
    };
    this.entries.set(r.actionId, entry);
    return (entry.answered = this.figures(r, now));
  }

  /** Puts back an entry the audit log recorded (a rebuilt book); what it answered then is not known. */
  restore(e: BookEntry): void {
    if (this.entries.has(e.actionId) || this.entries.size >= MAX_BOOK_ENTRIES) return;
    this.entries.set(e.actionId, { ...e, answered: undefined });
  }

  /**
   * Why a reservation would be refused, if it would: the action is held for another run, agent or requester (anyone
   * holding the payload keys can send a reservation: an action's attribution, once counted, never moves), or the
   * book (or the agent's share of it) is full.
   */
  refusal(r: Pick<Reservation, 'actionId' | 'runId' | 'agent' | 'requester'>): string | undefined {
    const known = this.entries.get(r.actionId);
    if (known)
      return known.runId === r.runId && known.agent === r.agent && known.requester === r.requester
        ? undefined
        : `action ${r.actionId} is counted for another run, agent or requester`;
    if (this.entries.size >= MAX_BOOK_ENTRIES) return `it holds ${MAX_BOOK_ENTRIES} actions`;
    let own = 0;
    for (const e of this.entries.values()) if (e.agent === r.agent) own += 1;
    return own >= MAX_AGENT_ENTRIES ? `it holds ${MAX_AGENT_ENTRIES} actions of agent ${r.agent}` : undefined;
  }

  /** What an action's end means for its reservation: kept from now (committed), dropped (released), or nothing yet. */
  settle(actionId: string, how: Settlement, now: number): void {
    const entry = this.entries.get(actionId);
    if (!entry || how === 'running') return;
    if (how === 'released') this.entries.delete(actionId);
    else entry.committedAt ??= now;
  }

  /**
   * The figures a reservation by `who` would see now (itself included, if reserved); with `asOf`, only what was
   * reserved by then.
   */
  figures(who: Pick<Reservation, 'agent' | 'requester'>, now: number, asOf?: number): UsageSnapshot {
    const out = { agent: zero(), user: zero(), task: zero() };
    for (const e of this.entries.values()) {
      if (!this.counts(e, now) || (asOf !== undefined && e.reservedAt > asOf)) continue;
      const add = (f: Figures) => {
        f.count += 1;
        f.total += e.amount;
      };
      add(out.task);
      if (e.agent === who.agent) add(out.agent);
      if (e.requester === who.requester) add(out.user);
    }
    return out;
  }

  /** Actions reserved at or before `before` and not yet known to have ended: to be asked about. */
  unsettled(before: number): string[] {
    return [...this.entries.values()]
      .filter((e) => e.committedAt === undefined && e.reservedAt <= before)
      .map((e) => e.actionId);
  }

  /** Forgets what no longer counts (successes older than the window); the rest is what a new run carries. */
  prune(now: number): BookEntry[] {
    for (const [id, e] of this.entries) if (!this.counts(e, now)) this.entries.delete(id);
    return [...this.entries.values()];
  }

  /** What counts now, changing nothing (for a query: a query must not change a workflow's state). */
  live(now: number): BookEntry[] {
    return [...this.entries.values()].filter((e) => this.counts(e, now));
  }

  /** The run an action was reserved for, if the book holds it. */
  runOf(actionId: string): string | undefined {
    return this.entries.get(actionId)?.runId;
  }

  get size(): number {
    return this.entries.size;
  }

  private counts(e: BookEntry, now: number): boolean {
    return e.committedAt === undefined || now - e.committedAt < this.windowMs;
  }
}
