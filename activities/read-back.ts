import { notVerified, readBackVerdict } from '../common/read-back';
import type { Plan, ReadBackVerification } from '../common/types';
import type { TaskContext, TaskDefinition } from '../tasks/define-task';

/**
 * How long the read-back may take: it must not hold an execution whose effect already happened until its activity
 * times out (and is tried again). A read that takes longer leaves the execution unverified.
 */
export const READ_BACK_BUDGET_MS = 10_000;

/**
 * Reads the target back after `execute` and checks it against the plan's `after`. Never throws: the effect has
 * happened, so a read that fails, is slow or has nothing to compare with is recorded as `unverified` (with why), and
 * must not fail or retry the execution. `ctx` must hold the read-back's grants only (the plan step's secrets).
 */
export async function readBackAfter(args: {
  task: TaskDefinition;
  input: unknown;
  ctx: TaskContext;
  /** The plan carried out; undefined when this attempt does not have it. */
  plan: Pick<Plan, 'after'> | undefined;
  /** What `execute` returned. */
  executed: unknown;
  clock: () => Date;
  budgetMs?: number;
}): Promise<ReadBackVerification> {
  const { task, plan } = args;
  const readBack = task.readBack;
  if (!readBack)
    return { status: 'not_readable', reason: `${task.name} declares no read-back of its target (readBack).` };
  if ('notReadable' in readBack) return { status: 'not_readable', reason: readBack.notReadable };
  if (!plan)
    return notVerified(
      'the plan carried out was not at hand on this attempt of the execution, so there was nothing to compare with; check the target by hand',
    );
  const budget = args.budgetMs ?? READ_BACK_BUDGET_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Started inside the promise chain, so that a read that throws at once is caught like one that fails later.
    const reading = Promise.resolve().then(() => readBack.read(args.input, args.ctx, args.executed));
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the target did not answer the read within ${budget / 1000} s`)),
        budget,
      );
    });
    // A read abandoned for being late may still fail: that is no longer anyone's concern.
    reading.catch(() => undefined);
    const found = await Promise.race([reading, late]);
    return readBackVerdict(plan.after, found, readBack.ignore ?? [], args.clock().toISOString());
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).trim();
    return notVerified(`${why}${/[.!?]$/.test(why) ? '' : '.'} Check the target by hand.`);
  } finally {
    clearTimeout(timer);
  }
}
