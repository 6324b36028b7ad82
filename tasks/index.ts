import { TaskRegistry, type TaskCatalog } from './task-registry';
import { addNoteToCustomer } from './crm/add-note-to-customer';
import { updateCustomer } from './crm/update-customer';
import { setParameter } from './ops/set-parameter';
import { sendEmail } from './support/send-email';
import { refundCharge } from './billing/refund-charge';

/** Every task this build of Airlock ships. Adding a task: write its file, then list it here. */
export const ALL_TASKS = [refundCharge, addNoteToCustomer, updateCustomer, setParameter, sendEmail];

/** A registry of every shipped task. */
export function createDefaultRegistry(): TaskRegistry {
  return new TaskRegistry(ALL_TASKS);
}

/**
 * The catalog of every shipped task, for agents and their tools. Loading it loads no target SDK: task files load
 * theirs when a step runs (lint keeps SDK imports in task files type-only).
 */
export function defaultCatalog(): TaskCatalog {
  return createDefaultRegistry().summaries();
}

export { defineTask } from './define-task';
export type { TaskDefinition, TaskContext, PlanDraft } from './define-task';
export { TaskRegistry, type TaskCatalog, type TaskSummary } from './task-registry';
