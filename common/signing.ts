import { canonicalJson } from './canonical-json';

/**
 * What a signature is for. The purpose is signed with the payload, so a signature made for one purpose can never
 * be presented as another (domain separation): an agent's proposal is not a person's decision.
 */
export type SignaturePurpose = 'airlock.proposal.v1' | 'airlock.decision.v1';

/** The exact text a signature covers: the purpose, a newline, the canonical JSON of the payload. Workflow-safe. */
export function signedText(purpose: SignaturePurpose, payload: unknown): string {
  return `${purpose}\n${canonicalJson(payload)}`;
}
