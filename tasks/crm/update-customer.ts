import { z } from 'zod';
import { defineTask } from '../define-task';
import { CustomerIdSchema, crmRequest, DEMO_CRM_CREDENTIALS, type Customer } from './demo-crm-client';

/** The fields `crm.update_customer` may change; at least one. */
export const CustomerChangesSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    email: z.email().optional(),
    phone: z
      .string()
      .regex(/^\+?[0-9 ()-]{5,30}$/, 'a phone number has digits, spaces, ( ) - and an optional +')
      .optional(),
    tier: z.enum(['bronze', 'silver', 'gold', 'platinum']).optional(),
  })
  .refine((changes) => Object.values(changes).some((v) => v !== undefined), {
    message: 'give at least one of name, email, phone, tier',
  });

/** Input of `crm.update_customer`. */
export const UpdateCustomerSchema = z.strictObject({
  customerId: CustomerIdSchema,
  changes: CustomerChangesSchema,
});

/** Validated input of `crm.update_customer`. */
export type UpdateCustomerInput = z.output<typeof UpdateCustomerSchema>;

/** Changes fields of a customer record. High risk: it overwrites data people rely on. */
export const updateCustomer = defineTask({
  name: 'crm.update_customer',
  description: 'Change a customer record in the CRM (demo CRM): name, email, phone and/or tier.',
  risk: 'high',
  toolHints: { destructive: true, idempotent: true },
  inputSchema: UpdateCustomerSchema,
  examples: [
    { customerId: 'C-1002', changes: { tier: 'gold' } },
    { customerId: 'C-1003', changes: { email: 'alan@example.org', phone: '+44 20 7946 0999' } },
  ],
  target: (input) => `demo-crm:customer/${input.customerId}`,
  // The agent proposes the new values; the current contact details are the customer's, for approvers' eyes only.
  hiddenFromAgents: ['email', 'phone'],
  // Which fields the change touches, for rules such as "a change of phone alone needs no approval".
  facts: {
    types: { changedFields: 'Set<String>' },
    descriptions: { changedFields: 'the fields the change gives a value: `name`, `email`, `phone`, `tier`' },
    of: (input) => ({ changedFields: Object.keys(input.changes).sort() }),
  },
  credentials: DEMO_CRM_CREDENTIALS,
  async plan(input, ctx) {
    const customer = await crmRequest<Customer>(ctx, 'GET', `/customers/${input.customerId}`);
    const after = { ...customer, ...input.changes };
    const changed = Object.keys(input.changes).filter(
      (k) => customer[k as keyof Customer] !== after[k as keyof Customer],
    );
    return {
      summary: changed.length
        ? `Change ${changed.join(', ')} of ${customer.name} (${customer.id})`
        : `No change to ${customer.name} (${customer.id}): the record already has these values`,
      sideEffects: changed.map((k) => `overwrites ${k} of customer ${customer.id}`),
      before: customer,
      after,
    };
  },
  async execute(input, ctx) {
    const updated = await crmRequest<Customer>(ctx, 'PATCH', `/customers/${input.customerId}`, input.changes);
    // What changed, as the CRM now holds it; the customer's other details stay out of a result agents read.
    const changed = Object.keys(input.changes) as (keyof Customer)[];
    return { customer: { id: updated.id, ...Object.fromEntries(changed.map((k) => [k, updated[k]])) } };
  },
  // The whole record again, as the plan's `after` shows it: a field someone else changed meanwhile shows too.
  readBack: {
    read: (input, ctx) => crmRequest<Customer>(ctx, 'GET', `/customers/${input.customerId}`),
  },
});
