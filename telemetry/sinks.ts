import type { Sink, Sinks } from '@temporalio/workflow';

/** A finished action, as the workflow tells the worker's metrics. */
export interface FinishedAction {
  /** The task's name once admission verified it, else {@link UNVERIFIED_TASK}. */
  task: string;
  status: string;
  /** Each wait for approvals the action had: how long (workflow time) and how it ended. */
  waits: { ms: number; outcome: string }[];
}

/** A refused decision, as the workflow tells the worker's metrics. */
export interface RefusedDecision {
  /** A code from APPROVAL_REFUSAL_CODES (or `unknown` for anything else). */
  code: string;
  /** Whether the refusal is in history (false: the update's validator refused it before history). */
  recorded: boolean;
}

/** Metrics the action workflow reports through a sink: workflow code does no I/O. */
export interface AirlockMetricsSink extends Sink {
  finished(action: FinishedAction): void;
  refused(decision: RefusedDecision): void;
}

/** The sinks Airlock's workflow interceptors call (the workflow spans' `exporter` is Temporal's own). */
export interface AirlockSinks extends Sinks {
  airlockMetrics: AirlockMetricsSink;
}
