import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { ActionNotFoundError } from '../common/errors';
import { historyDecoder, type HistoryDecoder } from './history-payloads';

/** One event of a workflow history. */
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A decision as the action's history holds it: the signed message as sent, when Temporal took it, the answer. */
export interface HistoryDecision {
  signed: unknown;
  /** When Temporal accepted the update (ms, the server's clock). */
  receivedAt: number;
  /** Whether the workflow answered "accepted". */
  acceptedByWorkflow: boolean;
}

/** Reads runs of actions back from Temporal, for the activities that must not take the workflow's word. */
export interface RunHistory {
  /** The events of one run. */
  events(workflowId: string, runId: string): Promise<HistoryEvent[]>;
  /** The run's decisions (updates `decide`), with their answers. */
  decisions(workflowId: string, runId: string): Promise<HistoryDecision[]>;
  /**
   * Whether this run is the first run ever started under its workflow id (an action id belongs to one run: a later
   * run under the same id, a replayed proposal, must not act), and when it started, as Temporal's visibility lists
   * its id's runs (the run itself described, when visibility does not have it yet).
   */
  runStart(workflowId: string, runId: string): Promise<{ first: boolean; startedAt: number }>;
  decode: HistoryDecoder;
}

/** Event time in ms. */
export function eventTime(e: HistoryEvent): number {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

/** The decisions (updates `decide`) in a run's events, with the workflow's answers. */
export async function decisionsIn(events: readonly HistoryEvent[], decode: HistoryDecoder): Promise<HistoryDecision[]> {
  const out = new Map<string, HistoryDecision>();
  for (const e of events) {
    const accepted = e.workflowExecutionUpdateAcceptedEventAttributes;
    if (accepted?.acceptedRequest?.input?.name === 'decide') {
      const id = accepted.acceptedRequest.meta?.updateId ?? accepted.protocolInstanceId ?? '';
      const signed = await decode(accepted.acceptedRequest.input.args?.payloads?.[0]);
      out.set(id, { signed, receivedAt: eventTime(e), acceptedByWorkflow: false });
    }
    const completed = e.workflowExecutionUpdateCompletedEventAttributes;
    const entry = completed && out.get(completed.meta?.updateId ?? '');
    if (completed && entry) {
      const answer = (await decode(completed.outcome?.success?.payloads?.[0])) as { accepted?: unknown } | undefined;
      entry.acceptedByWorkflow = answer?.accepted === true;
    }
  }
  return [...out.values()];
}

/** A reader on the worker's own client (its codec keys decrypt the histories). */
export function createRunHistory(client: Client): RunHistory {
  const decode = historyDecoder(client);
  const firstRuns = new Map<string, { runId: string; startedAt: number }>();

  const events = async (workflowId: string, runId: string): Promise<HistoryEvent[]> => {
    try {
      return (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ActionNotFoundError(workflowId);
      throw err;
    }
  };

  return {
    events,
    decode,
    async decisions(workflowId, runId) {
      return decisionsIn(await events(workflowId, runId), decode);
    },
    async runStart(workflowId, runId) {
      const known = firstRuns.get(workflowId);
      if (known?.runId === runId) return { first: true, startedAt: known.startedAt };
      const runs: { runId: string; startedAt: number }[] = [];
      if (!known) {
        for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId.replace(/'/g, '')}'` }))
          runs.push({ runId: wf.runId, startedAt: wf.startTime.getTime() });
      }
      // The run's own start: as visibility lists it, else (not there yet) as Temporal describes it.
      const startedAt =
        runs.find((r) => r.runId === runId)?.startedAt ??
        (await client.workflow.getHandle(workflowId, runId).describe()).startTime.getTime();
      if (known) return { first: false, startedAt };
      const first = !runs.some(
        (r) => r.runId !== runId && (r.startedAt < startedAt || (r.startedAt === startedAt && r.runId < runId)),
      );
      // A run found first stays first (no earlier run can appear later), so the answer is remembered.
      if (first) {
        if (firstRuns.size > 10_000) firstRuns.clear();
        firstRuns.set(workflowId, { runId, startedAt });
      }
      return { first, startedAt };
    },
  };
}
