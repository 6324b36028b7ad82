import { createHash, randomUUID } from 'node:crypto';

/**
 * The action id, which is also the workflow id, the STS session name and the target's idempotency key.
 * With an idempotency key it is derived from (agent, key), so the same agent resending the same key reaches the
 * same action; keys of different agents never collide.
 */
export function actionIdFor(agent: string, idempotencyKey?: string): string {
  if (idempotencyKey === undefined) return `act-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  return `act-${createHash('sha256').update(`${agent}\n${idempotencyKey}`).digest('hex').slice(0, 24)}`;
}
