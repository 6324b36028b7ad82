/**
 * Airlock's workflow interceptors, bundled with the workflows (WORKFLOW_BUNDLE_OPTIONS.workflowInterceptorModules):
 * metrics of every action, and OpenTelemetry spans of the actions whose proposal was traced.
 *
 * Contract:
 * - it must not change what a workflow does: no commands, no state the workflow reads, and the same behaviour on
 *   every replay (whether an action is traced is read from its start headers, which history keeps);
 * - it touches the action workflow only: the usage ledger draws random nonces, and spans (which draw random ids) must
 *   not shift them;
 * - metrics go out through a sink, never during replay; spans through Temporal's span exporter sink;
 * - an action whose proposal was not traced loads no OpenTelemetry code at all (nothing to pay when tracing is off).
 */
import { proxySinks, workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { decideUpdate } from '../common/messages';
import type { ActionState, ApprovalAttempt } from '../common/types';
import { UNVERIFIED_TASK, refusalCodeOf } from './names';
import type { AirlockSinks, FinishedAction } from './sinks';
import { carriesTrace } from './trace-context';
import type { ActionTracing } from './action-tracing';

/** What the metrics are told of a finished action: identifiers and durations only. */
export function finishedAction(state: ActionState): FinishedAction {
  const waits: FinishedAction['waits'] = [];
  state.transitions.forEach((t, i) => {
    const next = state.transitions[i + 1];
    if (!next || (t.status !== 'awaiting_approval' && t.status !== 'awaiting_reapproval')) return;
    waits.push({
      ms: Math.max(0, Date.parse(next.at) - Date.parse(t.at)),
      outcome: next.status === 'executing' ? 'approved' : next.status,
    });
  });
  // A proposal admission refused may name any task at all: its name is a claim, not a label.
  return { task: state.policy ? state.task : UNVERIFIED_TASK, status: state.status, waits };
}

/** The span side, loaded only for a traced action (it brings OpenTelemetry into this workflow's sandbox). */
function loadTracing(): ActionTracing {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use: untraced actions skip it
  const { ActionTracing: Tracing } = require('./action-tracing') as typeof import('./action-tracing');
  return new Tracing();
}

export const interceptors = (): WorkflowInterceptors => {
  if (workflowInfo().workflowType !== ACTION_WORKFLOW_TYPE) return {};
  const { airlockMetrics } = proxySinks<AirlockSinks>();
  const live = () => !workflowInfo().unsafe.isReplaying;
  let tracing: ActionTracing | undefined;
  return {
    inbound: [
      {
        async execute(input, next) {
          if (carriesTrace(input.headers)) tracing = loadTracing();
          const run = async (i: typeof input) => {
            const state = (await next(i)) as ActionState;
            if (live()) airlockMetrics.finished(finishedAction(state));
            return state;
          };
          return tracing ? tracing.execute(input, run) : run(input);
        },
        async handleUpdate(input, next) {
          if (input.name !== decideUpdate.name) return next(input);
          const decide = async (i: typeof input): Promise<ApprovalAttempt> => {
            try {
              const attempt = (await next(i)) as ApprovalAttempt;
              if (!attempt.accepted && live())
                airlockMetrics.refused({ code: attempt.refusal?.code ?? 'unknown', recorded: true });
              return attempt;
            } catch (err) {
              if (live()) airlockMetrics.refused({ code: refusalCodeOf(err), recorded: true });
              throw err;
            }
          };
          return tracing ? tracing.decision(input, decide) : decide(input);
        },
        validateUpdate(input, next) {
          if (input.name !== decideUpdate.name) return next(input);
          try {
            next(input);
          } catch (err) {
            // Validators never run on replay; a refusal here leaves no trace in history, only this count.
            airlockMetrics.refused({ code: refusalCodeOf(err), recorded: false });
            throw err;
          }
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => (tracing ? tracing.scheduleActivity(input, next) : next(input)),
        scheduleLocalActivity: (input, next) => (tracing ? tracing.scheduleLocalActivity(input, next) : next(input)),
      },
    ],
    internals: [
      {
        concludeActivation(input, next) {
          tracing?.observeStatus();
          return next(input);
        },
        dispose(input, next) {
          return tracing ? tracing.dispose(input, next) : next(input);
        },
      },
    ],
  };
};
