import { z } from 'zod';
import { TargetError } from '../../common/errors';
import { defineTask, type TaskContext } from '../define-task';
import { callTarget, readSecretsUnder } from '../kit';

/** Name of Stripe in the worker's endpoint map (`AIRLOCK_ENDPOINT_STRIPE`; stripe-mock in development). */
export const STRIPE_ENDPOINT = 'stripe';

/** Input of `billing.refund_charge`. Amounts are in the currency's smallest unit (cents for USD). */
export const RefundChargeSchema = z.strictObject({
  chargeId: z.string().regex(/^ch_[A-Za-z0-9]{3,}$/, 'a Stripe charge id looks like ch_3MmlLrLkdIwHu7ix0snN0B15'),
  amount: z.number().int().positive().max(99_999_999).optional().describe('omit to refund what remains'),
  reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
});

/** Validated input of `billing.refund_charge`. */
export type RefundChargeInput = z.output<typeof RefundChargeSchema>;

/**
 * A Stripe client with this action's key, against the configured endpoint (api.stripe.com when none is). The SDK is
 * loaded here, not at the top: agents load task files for their names and schemas, never their SDKs.
 */
async function stripeFor(ctx: TaskContext) {
  const { default: StripeClient } = await import('stripe');
  const endpoint = ctx.endpoints[STRIPE_ENDPOINT] ? new URL(ctx.endpoints[STRIPE_ENDPOINT]) : undefined;
  return new StripeClient(ctx.secrets.stripeKey, {
    // Temporal retries the activity; the SDK must not retry behind its back.
    maxNetworkRetries: 0,
    httpClient: StripeClient.createFetchHttpClient(ctx.fetch),
    ...(endpoint
      ? {
          host: endpoint.hostname,
          port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)),
          protocol: endpoint.protocol.replace(':', '') as 'http' | 'https',
        }
      : {}),
  });
}

/** Currencies whose smallest unit is the unit itself, and those with three decimals (Stripe's lists). */
const ZERO_DECIMAL = new Set('bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '));
const THREE_DECIMAL = new Set('bhd jod kwd omr tnd'.split(' '));

/**
 * An amount in a currency's smallest unit as hundredths of its main unit, so that one rule reads "20.00" as 2000
 * whatever the currency: 2000 cents, 20 yen (2000), 20.000 dinars (20000 fils, 2000). Exact: Stripe takes
 * three-decimal amounts in multiples of ten.
 */
export function inHundredths(amount: number, currency: string): number {
  const c = currency.toLowerCase();
  return ZERO_DECIMAL.has(c) ? amount * 100 : THREE_DECIMAL.has(c) ? Math.floor(amount / 10) : amount;
}

/** A refund plan's state of the charge, before or after. */
interface ChargeState {
  currency: string;
  amount: number;
  refunded: number;
}

/** A charge as a refund's plan shows it, with `refunded` of it refunded. */
const chargeState = (charge: { id: string; currency: string; amount: number }, refunded: number) => ({
  charge: charge.id,
  currency: charge.currency,
  amount: charge.amount,
  refunded,
  remaining: charge.amount - refunded,
});

/** Stripe answers 409 while a request with the same idempotency key is still in flight: that one passes. */
const stripeCall = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
  callTarget('Stripe', what, fn, { retryableStatuses: [409] });

/** Refunds all or part of a Stripe charge. Critical: money leaves the business. */
export const refundCharge = defineTask({
  name: 'billing.refund_charge',
  description:
    'Refund all or part of a Stripe charge (amount in the smallest currency unit; omit it to refund what remains).',
  risk: 'critical',
  toolHints: { destructive: true, idempotent: false },
  inputSchema: RefundChargeSchema,
  examples: [{ chargeId: 'ch_3MmlLrLkdIwHu7ix0snN0B15', amount: 40, reason: 'requested_by_customer' }],
  target: (input) => `stripe:charge/${input.chargeId}`,
  // The amount may be left out (refund what remains) and the currency is the charge's: both come from the plan.
  planFacts: {
    types: { amount: 'Long', currency: 'String', amountHundredths: 'Long', shareOfChargePercent: 'Long' },
    descriptions: {
      amount: "what the refund moves, in the currency's smallest unit (the input's, else what remains)",
      currency: 'the charge’s currency, ISO 4217 lowercase (`usd`)',
      amountHundredths: 'the amount in hundredths of the main unit, whatever the currency: 20.00 is 2000',
      shareOfChargePercent: 'the refund as a whole percentage of the charge',
    },
    of: (_input, plan) => {
      const before = plan.before as ChargeState;
      const after = plan.after as ChargeState;
      const amount = after.refunded - before.refunded;
      return {
        amount,
        currency: after.currency,
        amountHundredths: inHundredths(amount, after.currency),
        shareOfChargePercent: after.amount > 0 ? Math.floor((amount * 100) / after.amount) : 0,
      };
    },
  },
  // Refunds by agent, requester and in all over a day, in hundredths of their currencies' main units.
  usage: { sum: 'amountHundredths', window: '24h' },
  credentials: {
    role: {
      name: 'airlock-billing',
      description: 'Role Airlock assumes to refund Stripe charges; it may read the Stripe keys and nothing else.',
      grants: (aws) => [readSecretsUnder(aws, 'airlock/stripe/')],
    },
    // Planning reads the charge with a restricted read-only key; only execution holds the key that moves money.
    plan: { secrets: { stripeKey: 'airlock/stripe/read-key' } },
    execute: { secrets: { stripeKey: 'airlock/stripe/api-key' } },
  },
  provisioning: {
    // stripe-mock accepts any key of the right kind; Stripe's own keys have these prefixes.
    secretFormats: {
      'airlock/stripe/api-key': {
        prefix: 'sk_test_',
        description: 'Stripe secret key. Only billing executions read it.',
      },
      'airlock/stripe/read-key': { prefix: 'rk_test_', description: 'Stripe restricted read-only key, for plans.' },
    },
  },
  async plan(input, ctx) {
    const charge = await stripeCall('charges.retrieve', async () =>
      (await stripeFor(ctx)).charges.retrieve(input.chargeId),
    );
    const remaining = charge.amount - charge.amount_refunded;
    const amount = input.amount ?? remaining;
    if (amount <= 0 || amount > remaining) {
      throw new TargetError(
        `Refusing to refund ${amount} ${charge.currency} of charge ${charge.id}: only ${remaining} of ${charge.amount} remains refundable ` +
          `(${charge.amount_refunded} already refunded). Propose at most ${remaining}.`,
        400,
        false,
      );
    }
    const money = (n: number) => `${(n / 100).toFixed(2)} ${charge.currency.toUpperCase()}`;
    return {
      summary: `Refund ${money(amount)} of charge ${charge.id} (${money(remaining)} refundable)`,
      sideEffects: [`moves ${money(amount)} back to the customer's card; refunds cannot be undone`],
      before: chargeState(charge, charge.amount_refunded),
      after: chargeState(charge, charge.amount_refunded + amount),
    };
  },
  async execute(input, ctx) {
    // The amount its plan found (the approved and counted one), when the input leaves it out: never "what remains"
    // by the time it runs, which another refund could have changed. Every attempt sends the same.
    const amount = input.amount ?? (ctx.planFacts?.amount as number | undefined);
    if (amount === undefined)
      throw new TargetError(
        `No amount to refund for charge ${input.chargeId}: its plan's amount was not given to execution. Propose again with an amount.`,
        undefined,
        false,
      );
    // The action id is Stripe's Idempotency-Key: a retried attempt gets the first refund back, never a second one.
    const refund = await stripeCall('refunds.create', async () =>
      (await stripeFor(ctx)).refunds.create(
        { charge: input.chargeId, amount, reason: input.reason },
        { idempotencyKey: ctx.actionId },
      ),
    );
    if (typeof refund.id !== 'string' || !refund.id.startsWith('re_')) {
      throw new TargetError(
        `Stripe answered refunds.create without a refund id; check charge ${input.chargeId} in the Stripe dashboard.`,
        undefined,
        false,
      );
    }
    return {
      refundId: refund.id,
      charge: input.chargeId,
      amount: refund.amount,
      currency: refund.currency,
      status: refund.status,
    };
  },
  // The charge again, with the plan's read-only key: what Stripe now says is refunded of it (another refund made
  // meanwhile, or one that did not take, shows).
  readBack: {
    async read(input, ctx) {
      const charge = await stripeCall('charges.retrieve', async () =>
        (await stripeFor(ctx)).charges.retrieve(input.chargeId),
      );
      return chargeState(charge, charge.amount_refunded);
    },
  },
});
