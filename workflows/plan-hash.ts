import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { canonicalJson } from '../common/canonical-json';
import { planHashBody } from '../common/plan-hash';
import type { Plan } from '../common/types';

const encoder = new TextEncoder();

/**
 * Whether a plan is what its hash says, for this task and input (sha-256 in pure JavaScript, deterministic and free
 * of Node built-ins). A plan whose content was swapped under a real hash would have people sign one plan while shown
 * another; the workflow refuses it before anyone sees it.
 */
export function planMatchesHash(task: string, input: unknown, plan: Plan): boolean {
  return bytesToHex(sha256(encoder.encode(canonicalJson(planHashBody(task, input, plan))))) === plan.hash;
}
