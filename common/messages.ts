import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ActionState, ApprovalAttempt, SignedDecision } from './types';
import type { BookEntry, ReservationAnswer, ReservationRequest } from './usage-book';

/**
 * Messages of the action workflow, defined once and imported by the workflow, the client SDK and the CLI.
 *
 * A decision is a signed Update, not a Signal, so that the approver learns at once whether it was accepted and by
 * which rule it was refused. Its validator refuses, before history, whatever is not a decision signed by a registered
 * person for this run (anyone can send an Update, and junk must not fill the history); every signed attempt by a
 * registered person reaches history, accepted or refused, and stays in the audit trail.
 */
export const decideUpdate = defineUpdate<ApprovalAttempt, [SignedDecision]>('decide');

/** The action's whole state. */
export const getActionQuery = defineQuery<ActionState>('getAction');

/**
 * Messages of a counted task's usage ledger. A reservation is an Update (the proposal's decision waits for its figures,
 * and reservations are taken one at a time, so two proposals at once see each other). Settling is a Signal that only
 * names an action: the ledger asks the audit log how it ended, never the sender.
 */
export const reserveUsageUpdate = defineUpdate<ReservationAnswer, [ReservationRequest]>('reserveUsage');

/** "This action has ended": the ledger finds out how, from evidence, and keeps or gives back its reservation. */
export const settleUsageSignal = defineSignal<[{ actionId: string }]>('settleUsage');

/** The actions a ledger counts now. */
export const usageEntriesQuery = defineQuery<BookEntry[]>('usageEntries');
