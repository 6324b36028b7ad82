import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** How long each activity (local or regular) ran inside the worker, by workflow id and activity type (ms). */
export interface ActivityTimes {
  factory: ActivityInterceptorsFactory;
  /** Summed over attempts: workflow id → activity type → ms. */
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
  return { factory, byRun };
}
