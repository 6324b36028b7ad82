import { randomBytes } from 'node:crypto';
import type { DecisionPayload, SignedDecision } from '../../common/types';
import { loadSigningKey, signPayload } from '../../crypto/signing-keys';

/** A decision payload as the CLI builds it (an approval of the current plan), for tests that sign or tamper with it. */
export function decisionPayload(
  state: { id: string; runId: string; plan?: { hash: string } },
  approver: string,
  extra: Partial<DecisionPayload> = {},
): DecisionPayload {
  return {
    approver,
    actionId: state.id,
    runId: state.runId,
    planHash: state.plan?.hash ?? '0'.repeat(64),
    decision: 'approve',
    time: new Date().toISOString(),
    nonce: randomBytes(16).toString('hex'),
    ...extra,
  };
}

/** Signs a decision payload with `who`'s key from `keysDir`. */
export function signDecision(payload: DecisionPayload, who: string, keysDir: string): SignedDecision {
  return { payload, signature: signPayload('airlock.decision.v1', payload, loadSigningKey(who, keysDir)) };
}
