import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ActionState, ApprovalAttempt, SignedDecision } from './types';

/**
 * Messages of the action workflow, defined once and imported by the workflow, the client SDK and the CLI.
 *
 * A decision is a signed Update, not a Signal, so that the approver learns at once whether it was accepted and by
 * which rule it was refused. The update has no validator on purpose: a validator-rejected update leaves no trace in
 * history, and every refused attempt must stay in the audit trail.
 */
export const decideUpdate = defineUpdate<ApprovalAttempt, [SignedDecision]>('decide');

/** The action's whole state. */
export const getActionQuery = defineQuery<ActionState>('getAction');
