import { z } from 'zod';
import { defineTask } from '../define-task';
import { CustomerIdSchema, crmRequest, DEMO_CRM_CREDENTIALS, type Customer, type Note } from './demo-crm-client';

/** Input of `crm.add_note_to_customer`. */
export const AddNoteToCustomerSchema = z.strictObject({
  customerId: CustomerIdSchema,
  note: z.string().trim().min(1, 'the note must not be empty').max(2000, 'a note has at most 2000 characters'),
});

/** Validated input of `crm.add_note_to_customer`. */
export type AddNoteToCustomerInput = z.output<typeof AddNoteToCustomerSchema>;

/** Adds a note to a customer in the demo CRM. Low risk: notes add information and change no record. */
export const addNoteToCustomer = defineTask({
  name: 'crm.add_note_to_customer',
  description: 'Add a note to a customer record in the CRM (demo CRM). Does not change any customer field.',
  risk: 'low',
  toolHints: { destructive: false, idempotent: false },
  inputSchema: AddNoteToCustomerSchema,
  examples: [{ customerId: 'C-1001', note: 'Called about the renewal; wants a quote by Friday.' }],
  target: (input) => `demo-crm:customer/${input.customerId}`,
  credentials: DEMO_CRM_CREDENTIALS,
  async plan(input, ctx) {
    const customer = await crmRequest<Customer>(ctx, 'GET', `/customers/${input.customerId}`);
    const notes = await crmRequest<Note[]>(ctx, 'GET', `/customers/${input.customerId}/notes`);
    return {
      summary: `Add a note to ${customer.name} (${customer.id})`,
      sideEffects: [`creates note #${notes.length + 1} on customer ${customer.id}`],
      before: { customer: customer.id, notes: notes.length },
      after: { customer: customer.id, notes: notes.length + 1, newNote: input.note },
    };
  },
  async execute(input, ctx) {
    const note = await crmRequest<Note>(ctx, 'POST', `/customers/${input.customerId}/notes`, { text: input.note });
    return { noteId: note.id, customerId: note.customerId, createdAt: note.createdAt };
  },
  // The customer's notes again: how many there are, and the text of the note this action created (by its id).
  readBack: {
    async read(input, ctx, executed) {
      const notes = await crmRequest<Note[]>(ctx, 'GET', `/customers/${input.customerId}/notes`);
      const created = notes.find((n) => n.id === (executed as { noteId?: unknown } | undefined)?.noteId);
      return { customer: input.customerId, notes: notes.length, newNote: created?.text };
    },
  },
});
