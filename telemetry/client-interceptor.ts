import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import { SA_TASK } from '../common/search-attributes';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { ATTR, SPAN } from './names';

/**
 * The client's side of a trace: a proposal is the root span of its action's trace (`airlock.propose`, then Temporal's
 * `StartWorkflow`, whose context the workflow continues), and a decision carries the approver's trace context, which
 * the action's decision span links to. Other calls (queries, describe, lists) are not traced: a client polling an
 * action would otherwise start a trace per poll.
 */
export class AirlockClientTracing implements WorkflowClientInterceptor {
  private readonly temporal: OpenTelemetryWorkflowClientInterceptor;

  constructor(private readonly tracer: Tracer) {
    this.temporal = new OpenTelemetryWorkflowClientInterceptor({ tracer });
  }

  startWithDetails: NonNullable<WorkflowClientInterceptor['startWithDetails']> = (input, next) => {
    if (input.workflowType !== ACTION_WORKFLOW_TYPE) return next(input);
    const attributes = input.options.typedSearchAttributes;
    const task = Array.isArray(attributes)
      ? attributes.find((pair) => pair.key.name === SA_TASK.name)?.value
      : attributes?.get(SA_TASK);
    return this.tracer.startActiveSpan(
      SPAN.propose,
      {
        attributes: {
          [ATTR.actionId]: input.options.workflowId,
          ...(typeof task === 'string' ? { [ATTR.task]: task } : {}),
        },
      },
      async (span) => {
        try {
          return await this.temporal.startWithDetails(input, next);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };

  startUpdate: NonNullable<WorkflowClientInterceptor['startUpdate']> = (input, next) =>
    this.temporal.startUpdate(input, next);
}
