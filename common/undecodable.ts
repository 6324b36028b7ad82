/**
 * The value an Airlock worker sees in place of a payload it could not decrypt (not encrypted, an unknown key, a
 * forged or truncated ciphertext). The codec never throws on such a payload, because a throw fails the whole
 * workflow task and a stranger's message would wedge the action; it substitutes this marker, which every consumer
 * refuses: the update validator, proposal admission, each activity, and the workflow's guard on activity results.
 * Workflow-safe.
 */
export interface Undecodable {
  __airlockUndecodable: true;
  reason: string;
}

/** Whether a value is the undecodable-payload marker. */
export function isUndecodable(value: unknown): value is Undecodable {
  return typeof value === 'object' && value !== null && (value as Partial<Undecodable>).__airlockUndecodable === true;
}
