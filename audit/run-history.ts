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
   * its id's runs, once it lists this run (it throws, for the activity to try again, if it does not within seconds).
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

/** One run of a workflow id, as visibility lists it. */
export interface ListedRun {
  runId: string;
  startedAt: number;
}

/** How many times `runStart` lists a workflow id's runs before it gives up on visibility listing this run (~2.7 s). */
const VISIBILITY_ATTEMPTS = 10;

/**
 * Where `runId` stands among its id's runs as visibility lists them: undefined while it is not listed; else when it
 * started and whether it is the first (no other run started before it; the same instant is ordered by run id).
 */
export function placeAmong(
  runs: readonly ListedRun[],
  runId: string,
): { first: boolean; startedAt: number } | undefined {
  const own = runs.find((r) => r.runId === runId);
  if (!own) return undefined;
  const first = !runs.some(
    (r) => r.runId !== runId && (r.startedAt < own.startedAt || (r.startedAt === own.startedAt && r.runId < runId)),
  );
  return { first, startedAt: own.startedAt };
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
      if (known)
        return {
          first: false,
          startedAt: (await client.workflow.getHandle(workflowId, runId).describe()).startTime.getTime(),
        };
      // Visibility is written after a run starts: until it lists this run, it may not list an earlier one either (a
      // run restarted under the same id a moment later, say). So the answer waits until this run is listed.
      for (let attempt = 1; ; attempt++) {
        const runs: ListedRun[] = [];
        for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId.replace(/'/g, '')}'` }))
          runs.push({ runId: wf.runId, startedAt: wf.startTime.getTime() });
        const place = placeAmong(runs, runId);
        if (place) {
          // A run found first stays first (no earlier run can appear later), so the answer is remembered.
          if (place.first) {
            if (firstRuns.size > 10_000) firstRuns.clear();
            firstRuns.set(workflowId, { runId, startedAt: place.startedAt });
          }
          return place;
        }
        if (attempt >= VISIBILITY_ATTEMPTS)
          throw new Error(
            `Temporal's visibility does not list run ${runId} of action ${workflowId} yet (it is written after a run starts), so Airlock cannot yet tell whether an earlier run of it exists; the activity tries again. If this persists, check the visibility store.`,
          );
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    },
  };
}
