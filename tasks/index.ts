import { TaskRegistry } from './task-registry';
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

export { defineTask } from './define-task';
export type { TaskDefinition, TaskContext, PlanDraft } from './define-task';
export { TaskRegistry } from './task-registry';
