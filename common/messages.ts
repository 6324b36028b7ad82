import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ActionState, ApprovalAttempt, SignedDecision } from './types';

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
