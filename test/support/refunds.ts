import type { Harness } from './harness';

/**
 * Proposes a refund of 25.00 of a 1,000.00 charge (seeded at stripe-mock by its answers), as support-bot for alice:
 * over 20.00, so it needs two approvers. Resolves with its id once it awaits approval.
 */
export async function proposeRefundNeedingTwo(h: Harness, chargeId: string): Promise<string> {
  h.stripe.patchAnswers(new RegExp(`^GET /v1/charges/${chargeId}`), (charge) => ({
    ...charge,
    amount: 100_000,
    amount_refunded: 0,
  }));
  const { id } = await h.airlock.propose({
    task: 'billing.refund_charge',
    input: { chargeId, amount: 2500 },
    agent: 'support-bot',
    user: 'alice',
  });
  const status = await h.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 30_000 });
  if (status !== 'awaiting_approval') throw new Error(`refund ${id} is ${status}, not awaiting approval`);
  return id;
}
