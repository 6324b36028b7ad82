import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-activities';

const { postNote, postNoteWithSessions } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });

/** The benchmark's baseline: a bare workflow with one activity making the same HTTP call as the Airlock task. */
export async function bareNoteWorkflow(customerId: string, note: string, idempotencyKey: string): Promise<unknown> {
  return postNote(customerId, note, idempotencyKey);
}

/**
 * The second baseline: a bare workflow whose one activity makes every external call an Airlock action makes (two
 * STS sessions, two secrets, the read and the write), so that what remains between it and Airlock is the gate itself.
 */
export async function bareSessionsWorkflow(customerId: string, note: string, idempotencyKey: string): Promise<unknown> {
  return postNoteWithSessions(customerId, note, idempotencyKey);
}
