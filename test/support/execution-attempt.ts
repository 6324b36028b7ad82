import type { Client } from '@temporalio/client';

/** The attempt on which an action's execution (admission's, or executeAction's) started last, from its history. */
export async function executionAttempt(client: Client, id: string): Promise<number> {
  const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const type = (name: string) =>
    events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name);
  const scheduled = type('executeAction') ?? type('admitAndExecute');
  const started = events.find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
  );
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}
