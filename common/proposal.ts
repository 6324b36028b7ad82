import {
  ACTION_ID,
  MAX_IDEMPOTENCY_KEY_CHARS,
  MAX_REASON_CHARS,
  MAX_SIGNATURE_CHARS,
  NONCE,
  PRINCIPAL_ID,
  SHA256_HEX,
  TASK_NAME,
  parseSigningTime,
} from './identifiers';
import { isUndecodable } from './undecodable';
import type { ProposalPayload, SignedProposal } from './types';

/** How far a proposal's signing time may be from the moment its action starts. */
export const PROPOSAL_FRESHNESS_MS = 5 * 60 * 1000;

/** Why a proposal was not admitted: the issue code of an `invalid` action (path `proposal`). */
export type ProposalIssueCode =
  | 'proposal_malformed'
  | 'proposal_undecodable'
  | 'unknown_agent'
  | 'proposal_bad_signature'
  | 'proposal_wrong_action'
  | 'proposal_stale'
  | 'proposal_replayed';

/** A shape check's verdict. */
export type ProposalShape =
  | { ok: true; proposal: SignedProposal }
  | { ok: false; code: Extract<ProposalIssueCode, 'proposal_malformed' | 'proposal_undecodable'>; message: string };

const KEYS = new Set([
  'actionId',
  'agent',
  'user',
  'task',
  'inputDigest',
  'reason',
  'dryRun',
  'idempotencyKey',
  'time',
  'nonce',
]);

/**
 * Checks that a value is a signed proposal of the right shape, every field bounded, before anything of it is
 * believed, stored or shown. Workflow-safe. It does not verify the signature: that needs the agent's key.
 */
export function checkProposalShape(value: unknown): ProposalShape {
  if (isUndecodable(value)) {
    return {
      ok: false,
      code: 'proposal_undecodable',
      message: `The proposal could not be decrypted (${value.reason}); propose with an Airlock client and the current keys.`,
    };
  }
  const bad = (what: string): ProposalShape => ({
    ok: false,
    code: 'proposal_malformed',
    message: `The proposal is malformed: ${what}. Propose with the Airlock client SDK, the CLI or the MCP server, which sign proposals.`,
  });
  if (!value || typeof value !== 'object') return bad('it is not an object');
  const { payload, signature } = value as Partial<SignedProposal>;
  if (!payload || typeof payload !== 'object') return bad('it has no signed payload');
  const extra = Object.keys(payload).filter((k) => !KEYS.has(k));
  if (extra.length) return bad(`unexpected fields ${extra.slice(0, 5).join(', ')}`);
  const p = payload as Partial<ProposalPayload>;
  if (typeof signature !== 'string' || signature.length > MAX_SIGNATURE_CHARS || !signature) return bad('no signature');
  if (typeof p.actionId !== 'string' || !ACTION_ID.test(p.actionId))
    return bad('actionId must be act- and 24 hex digits');
  if (typeof p.agent !== 'string' || !PRINCIPAL_ID.test(p.agent))
    return bad('agent must be 2–64 of letters, digits, +=,.@_-');
  if (p.user !== undefined && (typeof p.user !== 'string' || !PRINCIPAL_ID.test(p.user)))
    return bad('user must be 2–64 of letters, digits, +=,.@_-');
  if (typeof p.task !== 'string' || p.task.length > 128 || !TASK_NAME.test(p.task))
    return bad('task must be a task name like crm.add_note_to_customer');
  if (typeof p.inputDigest !== 'string' || !SHA256_HEX.test(p.inputDigest))
    return bad('inputDigest must be 64 hex digits');
  if (p.reason !== undefined && (typeof p.reason !== 'string' || p.reason.length > MAX_REASON_CHARS))
    return bad(`reason must be at most ${MAX_REASON_CHARS} characters`);
  if (typeof p.dryRun !== 'boolean') return bad('dryRun must be true or false');
  if (
    p.idempotencyKey !== undefined &&
    (typeof p.idempotencyKey !== 'string' || p.idempotencyKey.length > MAX_IDEMPOTENCY_KEY_CHARS)
  ) {
    return bad(`idempotencyKey must be at most ${MAX_IDEMPOTENCY_KEY_CHARS} characters`);
  }
  if (parseSigningTime(p.time) === undefined) return bad('time must be an ISO 8601 UTC time');
  if (typeof p.nonce !== 'string' || !NONCE.test(p.nonce))
    return bad('nonce must be 16–64 of letters, digits, _ and -');
  return { ok: true, proposal: value as SignedProposal };
}

/** The part of an unverified proposal safe to show while it is being checked: bounded, never trusted. */
export function provisionalFields(value: unknown): {
  task: string;
  agent: string;
  user?: string;
  reason?: string;
  dryRun: boolean;
} {
  const p = ((value as { payload?: unknown } | null)?.payload ?? {}) as Record<string, unknown>;
  const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : undefined);
  return {
    task: text(p.task, 128) ?? '(unknown)',
    agent: text(p.agent, 64) ?? '(unknown)',
    user: text(p.user, 64),
    reason: text(p.reason, MAX_REASON_CHARS),
    dryRun: p.dryRun === true,
  };
}
