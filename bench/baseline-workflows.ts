import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-activities';

const { postNote } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });

/** The benchmark's baseline: a bare workflow with one activity making the same HTTP call as the Airlock task. */
export async function bareNoteWorkflow(customerId: string, note: string, idempotencyKey: string): Promise<unknown> {
  return postNote(customerId, note, idempotencyKey);
}
