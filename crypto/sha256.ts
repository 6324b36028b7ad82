import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

/** Hex sha-256 of the canonical JSON of a value: plan hashes, proposal input digests, audit chain links. */
export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
