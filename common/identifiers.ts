/**
 * The shapes of the identifiers and bounded fields Airlock accepts from outside, defined once. Workflow-safe.
 * Anything a caller sends is checked against these before it is stored, compared or shown.
 */

/** Agents and people: what STS accepts as SourceIdentity, so an id can be carried into AWS unchanged. */
export const PRINCIPAL_ID = /^[\w+=,.@-]{2,64}$/;
/** An action id (the workflow id, STS session name and the target's idempotency key). */
export const ACTION_ID = /^act-[0-9a-f]{24}$/;
/** A Temporal run id. */
export const RUN_ID = /^[0-9a-fA-F-]{8,64}$/;
/** Plan hashes and input digests. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A single-use random value. */
export const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
/** Task names: `area.verb_object`. */
export const TASK_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** A signing time: ISO 8601 in UTC, as `Date.prototype.toISOString` writes it (fractions optional). */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Longest texts a person types (reasons). */
export const MAX_REASON_CHARS = 1000;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_CHARS = 200;
/** Longest signature. Ed25519 needs 88 characters; a passkey assertion (four base64url parts) about 500. */
export const MAX_SIGNATURE_CHARS = 2048;

/**
 * Milliseconds since the epoch of a signing time, or undefined when it is not exactly an ISO 8601 UTC time.
 * A time that does not parse must never pass a freshness check (NaN compares false with everything).
 */
export function parseSigningTime(text: unknown): number | undefined {
  if (typeof text !== 'string' || !ISO_UTC.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * A person's one canonical id: Unicode NFKC, then lower case. "Bob", "BOB" and "Ｂｏｂ" are the same person; ids
 * are compared only in this form (self-approval, distinct approvers, registered names).
 */
export function canonicalPersonId(name: string): string {
  return name.normalize('NFKC').toLowerCase();
}

/** A string of at most `max` characters, or undefined. */
export function boundedString(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.length <= max ? value : undefined;
}
