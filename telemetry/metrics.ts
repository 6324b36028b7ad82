import type { Meter } from '@opentelemetry/api';
import { APPROVAL_REFUSAL_CODES } from '../common/types';
import { ATTR, METRIC } from './names';
import type { FinishedAction, RefusedDecision } from './sinks';

/** Bucket bounds of approval waits, in seconds: from seconds to the two days a window can last. */
const WAIT_BUCKETS_S = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800];

const REFUSAL_CODES = new Set<string>(APPROVAL_REFUSAL_CODES);

/**
 * Airlock's metrics, recorded by the worker: finished actions by task and final status, approval waits, refused
 * decisions by code, and execution latency. Labels are identifiers only (see names.ts).
 */
export class AirlockMetrics {
  private readonly actions;
  private readonly approvalWait;
  private readonly refusals;
  private readonly executionDuration;

  constructor(meter: Meter) {
    this.actions = meter.createCounter(METRIC.actions, {
      description: 'Actions that finished, by task (`airlock.task`) and final status (`airlock.status`).',
    });
    this.approvalWait = meter.createHistogram(METRIC.approvalWait, {
      description:
        'How long actions waited for approvals, by task and how the wait ended (`airlock.outcome`: approved, rejected, expired, cancelled).',
      unit: 's',
      advice: { explicitBucketBoundaries: WAIT_BUCKETS_S },
    });
    this.refusals = meter.createCounter(METRIC.refusals, {
      description:
        'Decisions refused, by refusal code (`airlock.refusal_code`) and whether they reached history (`airlock.recorded`).',
    });
    this.executionDuration = meter.createHistogram(METRIC.executionDuration, {
      description:
        'How long executions took: session, target call and read-back, by task and outcome (`airlock.outcome`: ok, error).',
      unit: 'ms',
    });
  }

  /** A finished action (from its workflow, through the metrics sink). */
  finished(action: FinishedAction): void {
    this.actions.add(1, { [ATTR.task]: action.task, [ATTR.status]: action.status });
    for (const wait of action.waits)
      this.approvalWait.record(wait.ms / 1000, { [ATTR.task]: action.task, [ATTR.outcome]: wait.outcome });
  }

  /** A refused decision (from its workflow, through the metrics sink). */
  refused(decision: RefusedDecision): void {
    // The code comes from a sandbox any client can send updates to: only known codes become labels.
    const code = REFUSAL_CODES.has(decision.code) ? decision.code : 'other';
    this.refusals.add(1, { [ATTR.refusalCode]: code, [ATTR.recorded]: decision.recorded });
  }

  /** One execution's duration (from the execute stage of an activity). */
  executed(task: string, outcome: 'ok' | 'error', ms: number): void {
    this.executionDuration.record(ms, { [ATTR.task]: task, [ATTR.outcome]: outcome });
  }
}
