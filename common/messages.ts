import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ActionState, ApprovalAttempt, ApprovalDecision } from './types';

/**
 * Messages of the action workflow, defined once and imported by the workflow, the client SDK and the CLI.
 *
 * Decisions are Updates, not Signals, so that the approver learns at once whether the decision was accepted.
 * The update has no validator on purpose: a validator-rejected update leaves no trace in history, and every
 * refused attempt must stay in the audit trail.
 */
export const decideUpdate = defineUpdate<ApprovalAttempt, [ApprovalDecision]>('decide');

/** The action's whole state. */
export const getActionQuery = defineQuery<ActionState>('getAction');
