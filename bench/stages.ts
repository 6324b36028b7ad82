import type { Client } from '@temporalio/client';
import { eventTime, type HistoryEvent } from '../audit/run-history';

/** Where one workflow run's time went, read from its history (server timestamps, ms). */
export interface RunStages {
  /** Start to close of the run. */
  run: number;
  /** The first workflow task: for Airlock, the one that schedules admission (`admitAndExecute`). */
  firstTask: number;
  /** Each activity by type: scheduled to completed (dispatch included). */
  activities: Record<string, number>;
  /** Workflow tasks: how many, time waiting to be picked up (scheduled → started), and processing (started → completed). */
  workflowTasks: number;
  taskDispatch: number;
  taskProcessing: number;
  /** For an approval: the accepted decision's completion → `executeAction` started, and → the run's close. */
  approvalToExecution?: number;
  approvalToClose?: number;
}

/** Reads a run's stages from its history. */
export async function runStages(client: Client, workflowId: string): Promise<RunStages> {
  const events = ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) as HistoryEvent[];
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  const out: RunStages = { run: 0, firstTask: 0, activities: {}, workflowTasks: 0, taskDispatch: 0, taskProcessing: 0 };
  const start = eventTime(events[0]);
  let lastAccepted: number | undefined;
  for (const e of events) {
    const at = eventTime(e);
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) out.run = at - start;
    if (e.workflowTaskStartedEventAttributes) {
      out.workflowTasks += 1;
      out.taskDispatch +=
        at - eventTime(byId.get(String(e.workflowTaskStartedEventAttributes.scheduledEventId)) as HistoryEvent);
    }
    if (e.workflowTaskCompletedEventAttributes) {
      const took =
        at - eventTime(byId.get(String(e.workflowTaskCompletedEventAttributes.startedEventId)) as HistoryEvent);
      out.taskProcessing += took;
      if (out.workflowTasks === 1) out.firstTask = took;
    }
    if (e.activityTaskCompletedEventAttributes) {
      const scheduled = byId.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) as HistoryEvent;
      const type = scheduled.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      out.activities[type] = (out.activities[type] ?? 0) + (at - eventTime(scheduled));
    }
    if (e.workflowExecutionUpdateCompletedEventAttributes) lastAccepted = at;
    if (e.activityTaskStartedEventAttributes && lastAccepted !== undefined && out.approvalToExecution === undefined) {
      const scheduled = byId.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) as HistoryEvent;
      if (scheduled.activityTaskScheduledEventAttributes?.activityType?.name === 'executeAction')
        out.approvalToExecution = at - lastAccepted;
    }
  }
  if (lastAccepted !== undefined) out.approvalToClose = start + out.run - lastAccepted;
  return out;
}

/** p50 and p95 of some numbers. */
export function percentiles(xs: number[]): { p50: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);
  return { p50: at(0.5), p95: at(0.95) };
}
