import {
  ApplicationFailure,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { reserveUsageUpdate, settleUsageSignal } from '../common/messages';
import { USAGE_LEDGER_WORKFLOW_TYPE, usageLedgerId } from '../common/task-queue';
import { isUndecodable } from '../common/undecodable';
import { randomUUID } from 'node:crypto';
import type { Reservation, ReservationAnswer, UsageSnapshot } from '../common/usage-book';
import { EvidenceError } from '../common/errors';
import type { UsageLedgerArgs } from '../workflows/usage-ledger-workflow';

/** The usage ledgers of counted tasks, as the activities use them. */
export interface UsageLedger {
  /** Reserves an action in its task's ledger (started if need be) and answers the figures with it counted. */
  reserve(task: string, reservation: Reservation): Promise<UsageSnapshot>;
  /** Tells a task's ledger that an action ended: the ledger finds out how from the audit log. Never throws. */
  settle(task: string, actionId: string): Promise<void>;
  /** Whether a run has ended (closed, or gone): a run that ended with no audit record gives its reservation back. */
  ended(actionId: string, runId: string): Promise<boolean>;
}

/** Usage ledgers as Temporal workflows on `taskQueue`, reached with `client` (Airlock's data converter). */
export function temporalUsageLedger(client: Client, taskQueue: string): UsageLedger {
  /** Ledger runs seen to be Airlock's own: the usage ledger workflow, on this task queue. */
  const ours = new Set<string>();
  /** The ledger's answers by task, action, run and amount: the same reservation always gets the same answer. */
  const answered = new Map<string, UsageSnapshot>();
  return {
    async reserve(task, reservation) {
      const key = JSON.stringify([task, reservation.actionId, reservation.runId, reservation.amount]);
      const known = answered.get(key);
      if (known) return structuredClone(known);
      const nonce = randomUUID();
      const ledgerId = usageLedgerId(taskQueue, task);
      const { answer, runId } = await reserving(task, async () => {
        const update = await client.workflow.startUpdateWithStart(reserveUsageUpdate, {
          args: [{ ...reservation, nonce }],
          waitForStage: 'ACCEPTED',
          startWorkflowOperation: new WithStartWorkflowOperation(USAGE_LEDGER_WORKFLOW_TYPE, {
            workflowId: ledgerId,
            taskQueue,
            args: [{ task } satisfies UsageLedgerArgs],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
        return { answer: (await update.result()) as unknown, runId: update.workflowRunId };
      });
      // A ledger someone else started under its id (on a queue their own worker polls) answers whatever it likes,
      // even sealed with the payload keys an agent backend holds: only a run of Airlock's ledger on Airlock's queue
      // counts. A run's queue and type never change, so each is checked once.
      if (!runId || !ours.has(runId)) {
        const described = runId ? await client.workflow.getHandle(ledgerId, runId).describe() : undefined;
        if (described?.taskQueue !== taskQueue || described.type !== USAGE_LEDGER_WORKFLOW_TYPE)
          throw new EvidenceError(
            'ledger_not_ours',
            `The usage ledger ${ledgerId} that answered is not Airlock's (${described ? `a ${described.type} on queue ${described.taskQueue}` : 'an unknown run'}): someone started it in its place. Terminate it; the next proposal starts Airlock's, which rebuilds its counts from the audit log.`,
          );
        ours.add(runId as string);
      }
      // Figures a stranger answered (a worker without Airlock's keys), or an old answer copied from history (it does
      // not echo this request's nonce), are not figures: nothing is decided on them.
      const echo = (answer as Partial<ReservationAnswer> | undefined)?.echo;
      if (
        isUndecodable(answer) ||
        !isSnapshot(answer) ||
        echo?.nonce !== nonce ||
        echo.actionId !== reservation.actionId ||
        echo.amount !== reservation.amount
      )
        throw new EvidenceError(
          'ledger_answer',
          `The usage ledger of ${task} answered something that is not this reservation's answer; nothing was decided. Check who else runs workers on queue ${taskQueue}.`,
        );
      const figures = { agent: answer.agent, user: answer.user, task: answer.task };
      if (answered.size >= 10_000) answered.clear();
      answered.set(key, figures);
      return structuredClone(figures);
    },
    async settle(task, actionId) {
      await client.workflow
        .getHandle(usageLedgerId(taskQueue, task))
        .signal(settleUsageSignal, { actionId })
        .catch(() => undefined); // the ledger's own sweep asks about it later
    },
    async ended(actionId, runId) {
      try {
        const described = await client.workflow.getHandle(actionId, runId).describe();
        return described.status.name !== 'RUNNING';
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return true;
        throw err;
      }
    },
  };
}

/** A reservation the ledger refused (held for another agent or run, or full) fails the action; nothing else is lost. */
async function reserving<T>(task: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === 'AIRLOCK_LEDGER_REFUSED')
      throw new EvidenceError('ledger_refused', `${cause.message} Nothing was decided.`);
    throw err;
  }
}

function isSnapshot(v: unknown): v is UsageSnapshot {
  const ok = (f: unknown) =>
    typeof f === 'object' &&
    f !== null &&
    Number.isSafeInteger((f as { count?: unknown }).count) &&
    Number.isSafeInteger((f as { total?: unknown }).total);
  const s = v as Partial<UsageSnapshot> | undefined;
  return Boolean(s && ok(s.agent) && ok(s.user) && ok(s.task));
}
