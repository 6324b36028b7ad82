import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { ActivityStage } from '../activities/create-activities';

/** How long each activity (local or regular), and each stage inside one, took in the worker, by workflow id (ms). */
export interface ActivityTimes {
  factory: ActivityInterceptorsFactory;
  /** For the worker's `observe`: the stages inside activities (verify, validate, policy, plan, execute, audit). */
  observe: (stage: ActivityStage, ms: number, actionId: string) => void;
  /** Summed over attempts: workflow id → activity type, or `<activity type>:<stage>` → ms. */
  byRun: Map<string, Record<string, number>>;
}

/**
 * A worker interceptor that times every activity it runs. Local activities leave only a marker in history, without
 * a duration, so the benchmark times them where they run.
 */
export function activityTiming(): ActivityTimes {
  const byRun = new Map<string, Record<string, number>>();
  const factory: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      async execute(input, next) {
        const t0 = performance.now();
        try {
          return await next(input);
        } finally {
          const id = ctx.info.workflowExecution?.workflowId ?? '?';
          const run = byRun.get(id) ?? {};
          run[ctx.info.activityType] = (run[ctx.info.activityType] ?? 0) + performance.now() - t0;
          byRun.set(id, run);
        }
      },
    },
  });
  const observe = (stage: ActivityStage, ms: number, actionId: string) => {
    const key = `${Context.current().info.activityType}:${stage}`;
    const run = byRun.get(actionId) ?? {};
    run[key] = (run[key] ?? 0) + ms;
    byRun.set(actionId, run);
  };
  return { factory, observe, byRun };
}
