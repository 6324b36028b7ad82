import { createHash, randomUUID, sign, type KeyObject } from 'node:crypto';

/**
 * The action id, which is also the workflow id, the STS session name and the target's idempotency key.
 *
 * Without an idempotency key it is random. With one, it is derived from the agent's own deterministic Ed25519
 * signature over (agent, key): the same agent resending the same key reaches the same action, keys of different
 * agents never collide, and nobody without the agent's private key can compute the id to occupy it first.
 */
export function actionIdFor(agent: string, idempotencyKey: string | undefined, agentKey: KeyObject): string {
  if (idempotencyKey === undefined) return `act-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  const proof = sign(null, Buffer.from(`airlock.action-id.v1\n${agent}\n${idempotencyKey}`), agentKey);
  return `act-${createHash('sha256').update(proof).digest('hex').slice(0, 24)}`;
}
