/**
 * The spans of one traced action, inside its workflow sandbox (loaded by workflow-interceptors.ts for traced actions
 * only). Temporal's own interceptors make the workflow's span (`RunWorkflow:actionWorkflow`, child of the client's
 * `StartWorkflow`) and one per activity it schedules, carrying the trace to the activities; this adds what only the
 * workflow knows: each wait for approvals, one span per decision under it, and the action's identifiers and final
 * status on the workflow's span.
 *
 * Contract: deterministic (workflow time, the sandbox's seeded randomness, no I/O); attributes are identifiers only
 * (see names.ts): never the input, the plan, a reason or a name an approver merely claimed.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import {
  workflowInfo,
  type ActivityInput,
  type DisposeInput,
  type LocalActivityInput,
  type Next,
  type UpdateInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInternalsInterceptor,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { SA_STATUS } from '../common/search-attributes';
import type { ActionState, ApprovalAttempt } from '../common/types';
import { ATTR, SPAN, TRACE_HEADER, refusalCodeOf } from './names';

const WAITING = new Set(['awaiting_approval', 'awaiting_reapproval']);

/** The trace context an approver's traced client sent with a decision, if any (linked, not inherited). */
function callerContext(headers: Headers): Context | undefined {
  const payload = headers[TRACE_HEADER];
  if (!payload) return undefined;
  try {
    const carrier = defaultPayloadConverter.fromPayload<Record<string, string>>(payload);
    return propagation.extract(ROOT_CONTEXT, carrier);
  } catch {
    return undefined;
  }
}

/** The action's identifiers and outcome, on the workflow's span. */
function describeAction(span: Span | undefined, state: ActionState): void {
  if (!span) return;
  span.setAttribute(ATTR.status, state.status);
  span.setAttribute(ATTR.dryRun, state.dryRun === true);
  span.setAttribute(ATTR.approvalsRequired, state.approvalsRequired);
  span.setAttribute(ATTR.approvals, state.approvedBy.length);
  // Only a verified proposal's task is a task: before admission, the name is whatever the sender claimed.
  if (state.policy) {
    span.setAttribute(ATTR.task, state.task);
    span.setAttribute(ATTR.policyDecision, state.policy.decision);
    span.setAttribute(ATTR.policyIds, [...state.policy.policyIds]);
  }
  if (state.error) span.setAttribute(ATTR.errorType, state.error.type);
}

/** One traced action's spans. */
export class ActionTracing {
  private readonly inbound = new OpenTelemetryInboundInterceptor();
  private readonly outbound = new OpenTelemetryOutboundInterceptor();
  private readonly internals = new OpenTelemetryInternalsInterceptor();
  /** Made after the interceptors above, which register the sandbox's tracer provider and context manager. */
  private readonly tracer: Tracer = trace.getTracer('airlock-workflow');
  /** The workflow span's context: the parent of the action's own spans. */
  private workflowContext?: Context;
  private status?: string;
  private approval?: { span: Span; context: Context };

  /** The workflow's run, in Temporal's `RunWorkflow` span, with the action's identifiers on it when it ends. */
  execute(input: WorkflowExecuteInput, run: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return this.inbound.execute(input, async (i) => {
      this.workflowContext = context.active();
      const span = trace.getSpan(this.workflowContext);
      span?.setAttribute(ATTR.actionId, workflowInfo().workflowId);
      const state = (await run(i)) as ActionState;
      this.observeStatus(); // the last task's status: a wait that ended with the action ends with it
      describeAction(span, state);
      return state;
    });
  }

  /**
   * Follows the status the workflow published (its search attribute): a wait for approvals is a span from the task
   * that began it to the one that ended it. Called as each activation ends, and at the end of the run.
   */
  observeStatus(): void {
    const status = workflowInfo().typedSearchAttributes.get(SA_STATUS);
    if (status === undefined || status === this.status) return;
    this.status = status;
    if (this.approval) {
      const { span } = this.approval;
      span.setAttribute(ATTR.outcome, status === 'executing' ? 'approved' : status);
      span.end();
      this.approval = undefined;
    }
    if (WAITING.has(status)) {
      const parent = this.workflowContext ?? context.active();
      const span = this.tracer.startSpan(
        SPAN.approval,
        { attributes: { [ATTR.actionId]: workflowInfo().workflowId, [ATTR.status]: status } },
        parent,
      );
      this.approval = { span, context: trace.setSpan(parent, span) };
    }
  }

  /**
   * One decision, in a span of its own under the wait it arrived in (its verification's local activity under it);
   * a traced approver's own trace is linked, not made its parent, so the action's trace holds every decision.
   */
  decision(input: UpdateInput, decide: (input: UpdateInput) => Promise<ApprovalAttempt>): Promise<ApprovalAttempt> {
    const parent = this.approval?.context ?? this.workflowContext ?? context.active();
    const caller = callerContext(input.headers);
    const callerSpan = caller && trace.getSpanContext(caller);
    const span = this.tracer.startSpan(
      SPAN.decision,
      {
        attributes: { [ATTR.actionId]: workflowInfo().workflowId },
        links: callerSpan ? [{ context: callerSpan }] : [],
      },
      parent,
    );
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        const attempt = await decide(input);
        span.setAttribute(ATTR.decision, attempt.decision === 'reject' ? 'reject' : 'approve');
        span.setAttribute(ATTR.accepted, attempt.accepted);
        // A refused attempt's approver is only a name the sender gave: named only once accepted (a registered id).
        if (attempt.accepted) span.setAttribute(ATTR.approver, attempt.approver);
        else {
          span.setAttribute(ATTR.refusalCode, attempt.refusal?.code ?? 'unknown');
          span.setAttribute(ATTR.recorded, true);
        }
        return attempt;
      } catch (err) {
        span.setAttribute(ATTR.accepted, false);
        span.setAttribute(ATTR.refusalCode, refusalCodeOf(err));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    });
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    return this.outbound.scheduleActivity(input, next);
  }

  scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    return this.outbound.scheduleLocalActivity(input, next);
  }

  dispose(input: DisposeInput, next: Next<WorkflowInternalsInterceptor, 'dispose'>): void {
    void this.internals.dispose(input, next);
  }
}
