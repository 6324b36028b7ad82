/**
 * The approval rules, in one pure module: the action workflow runs them on each decision it receives, and
 * `executeAction` runs them again over the action's history before it mints anything. Workflow-safe: no I/O, no
 * clock (every time is an argument), no Node built-ins. Signature checks and policy answers come in as facts.
 */
import {
  MAX_REASON_CHARS,
  MAX_SIGNATURE_CHARS,
  NONCE,
  PRINCIPAL_ID,
  RUN_ID,
  SHA256_HEX,
  ACTION_ID,
  canonicalPersonId,
  parseSigningTime,
} from './identifiers';
import { signedText } from './signing';
import { isUndecodable } from './undecodable';
import {
  isPasskeySignature,
  parsePasskeySignature,
  verifyPasskeyAssertion,
  type PasskeyCredential,
} from './webauthn-assertion';
import type { ActionState, ApprovalAttempt, ApprovalRefusalCode, DecisionPayload, Plan, SignedDecision } from './types';

/** How far a decision's signing time may be from the moment the action receives it. */
export const SIGNATURE_FRESHNESS_MS = 5 * 60 * 1000;
/** How many times an approved plan may go stale before the action gives up (ends `stale`). */
export const MAX_STALE_PLANS = 3;
/**
 * How long after its approval window an approval still counts for execution: the time `executeAction` may spend
 * retrying a failing target (10 attempts of up to 2 minutes, with backoff).
 */
export const EXECUTION_GRACE_MS = 30 * 60 * 1000;
/**
 * How much later than the workflow `executeAction` may date a decision's arrival: it reads the time Temporal wrote
 * the accepted update to history, a moment after the workflow judged it.
 */
export const EVIDENCE_CLOCK_SLACK_MS = 60 * 1000;
/**
 * Refused attempts one person may leave in history, counted apart for approvals and rejections (so that refused
 * approvals never stop a person's rejection); further ones are refused before history.
 */
export const MAX_REFUSALS_PER_PERSON = 3;
/** Refused attempts kept in the action's state; the rest are counted (they stay in history). */
export const MAX_KEPT_REFUSALS = 25;
/**
 * Decisions signed by passkeys this action did not know when it was admitted (checked by the handler against the
 * registry as it is now), in all, counted as they arrive. Their refusals are not counted against the person they name,
 * whom anyone could name; once this many arrived, such passkeys are refused before history, and people decide with
 * the keys and passkeys known before (a late passkey that verified once is known from then on).
 */
export const MAX_LATE_PASSKEYS = 10;

/** A verdict on one decision. */
export type Verdict = { accepted: true } | { accepted: false; code: ApprovalRefusalCode; message: string };

const refuse = (code: ApprovalRefusalCode, message: string): Verdict => ({ accepted: false, code, message });

const DECISION_KEYS = new Set(['approver', 'actionId', 'runId', 'planHash', 'decision', 'reason', 'time', 'nonce']);

/**
 * Checks that a value is a signed decision of the right shape, every field bounded. Refusals here happen before
 * history (in the update validator), so a stranger's junk never reaches it.
 */
export function checkDecisionShape(
  value: unknown,
): { ok: true; signed: SignedDecision } | { ok: false; code: ApprovalRefusalCode; message: string } {
  if (isUndecodable(value)) {
    return {
      ok: false,
      code: 'undecodable',
      message: `The decision could not be decrypted (${value.reason}); send it with the airlock CLI or SDK and the current keys.`,
    };
  }
  const malformed = (what: string) => ({
    ok: false as const,
    code: 'malformed' as const,
    message: `The decision is malformed: ${what}. Sign it with \`airlock approve\` or \`airlock reject\`.`,
  });
  const oversized = (what: string) => ({
    ok: false as const,
    code: 'oversized' as const,
    message: `The decision is too large: ${what}.`,
  });
  if (!value || typeof value !== 'object') return malformed('it is not an object');
  const keys = Object.keys(value);
  if (keys.length !== 2 || !keys.includes('payload') || !keys.includes('signature'))
    return malformed('it must have exactly a payload and a signature');
  const { payload, signature } = value as SignedDecision;
  if (typeof signature !== 'string' || !signature) return malformed('no signature');
  if (signature.length > MAX_SIGNATURE_CHARS)
    return oversized(`the signature has ${signature.length} characters, at most ${MAX_SIGNATURE_CHARS}`);
  if (isPasskeySignature(signature) && !parsePasskeySignature(signature))
    return malformed('the passkey signature is not four base64url parts');
  if (!payload || typeof payload !== 'object') return malformed('no payload');
  const extra = Object.keys(payload).filter((k) => !DECISION_KEYS.has(k));
  if (extra.length) return malformed(`unexpected fields in the payload (${extra.length})`);
  const p = payload as Partial<DecisionPayload>;
  if (typeof p.reason === 'string' && p.reason.length > MAX_REASON_CHARS)
    return oversized(`the reason has ${p.reason.length} characters, at most ${MAX_REASON_CHARS}`);
  if (typeof p.approver !== 'string' || !PRINCIPAL_ID.test(p.approver))
    return malformed('approver must be 2–64 of letters, digits, +=,.@_-');
  if (typeof p.actionId !== 'string' || !ACTION_ID.test(p.actionId)) return malformed('actionId must be an action id');
  if (typeof p.runId !== 'string' || !RUN_ID.test(p.runId)) return malformed('runId must be a run id');
  if (typeof p.planHash !== 'string' || !SHA256_HEX.test(p.planHash))
    return malformed('planHash must be 64 hex digits');
  if (p.decision !== 'approve' && p.decision !== 'reject') return malformed('decision must be approve or reject');
  if (p.reason !== undefined && typeof p.reason !== 'string') return malformed('reason must be text');
  if (parseSigningTime(p.time) === undefined) return malformed('time must be an ISO 8601 UTC time');
  if (typeof p.nonce !== 'string' || !NONCE.test(p.nonce))
    return malformed('nonce must be 16–64 of letters, digits, _ and -');
  return { ok: true, signed: value as SignedDecision };
}

/** What the caller established about a decision with I/O: the approver's key and what policy says of them. */
export interface DecisionFacts {
  /** The approver's canonical id if a key is registered under that name, else undefined. */
  approverId?: string;
  /** The signature verifies against that key. */
  signatureValid: boolean;
  /** Policy permits this approver to approve this task. */
  permitted: boolean;
  /** The nonce was not seen before on this action. */
  nonceFresh: boolean;
  /** For a passkey signature that verified: which credential signed, and its signature counter. */
  passkey?: PasskeyUse;
  /**
   * False when the passkey's signature counter did not advance past an earlier decision by the same credential: a
   * sign of a cloned authenticator (WebAuthn §6.1.1). Undefined for Ed25519 signatures.
   */
  counterAdvanced?: boolean;
}

/** A passkey's use in one decision. */
export interface PasskeyUse {
  credentialId: string;
  counter: number;
  /** The credential as registered, so that a passkey enrolled after admission is known from its first use. */
  credential?: PasskeyCredential;
}

/**
 * Whether a passkey's counter advanced from `last` (its highest in earlier decisions) to `counter`. An authenticator
 * that keeps no counter (synced passkeys) always reports 0, which is accepted; a counter that is not zero must grow.
 */
export function counterAdvances(last: number | undefined, counter: number): boolean {
  return last === undefined || (last === 0 && counter === 0) || counter > last;
}

/** The action, as a decision is judged against it. */
export interface Ballot {
  actionId: string;
  runId: string;
  /** The action's status, for messages. */
  status: string;
  /** Whether the action takes decisions now. */
  deciding: boolean;
  /** The plan awaiting decisions. */
  planHash?: string;
  /** When the approval window closes (ms), if one is open. */
  expiresAt?: number;
  /** Canonical ids who may not decide on this action: the user it is for and the agent's owners. */
  excluded: readonly string[];
  /** Canonical ids whose approvals count so far. */
  approvedBy: readonly string[];
  required: number;
  /** Extra tolerance on a signature's freshness (ms), for a re-check that dates arrivals by another clock. */
  slackMs?: number;
}

/**
 * Judges one well-shaped decision, received at `receivedAt` (ms), against the action. The order of the checks is
 * the order in which refusal codes are reported; nothing in the payload is believed before its signature is.
 */
export function judgeDecision(
  payload: DecisionPayload,
  facts: DecisionFacts,
  ballot: Ballot,
  receivedAt: number,
): Verdict {
  const closed = closedVerdict(ballot, receivedAt);
  if (closed) return closed;
  if (facts.approverId === undefined) {
    return refuse(
      'unknown_key',
      `No public key is registered for "${payload.approver}". Create one with \`airlock keys new\` and have it added to the approvers file.`,
    );
  }
  if (!facts.signatureValid) {
    return refuse(
      'bad_signature',
      `The signature does not verify against ${facts.approverId}'s registered key or passkey: the decision was altered, or signed with another key.`,
    );
  }
  if (facts.counterAdvanced === false) {
    return refuse(
      'cloned_authenticator',
      `The passkey's signature counter went backwards: it may have been cloned. ${facts.approverId} should remove that passkey and enrol a new one.`,
    );
  }
  if (payload.actionId !== ballot.actionId || payload.runId !== ballot.runId) {
    return refuse(
      'wrong_action',
      `This decision was signed for action ${payload.actionId} (run ${payload.runId}), not for ${ballot.actionId} (run ${ballot.runId}).`,
    );
  }
  if (!facts.nonceFresh)
    return refuse('replayed_nonce', 'This signed decision was already delivered once; sign a new one.');
  const signedAt = parseSigningTime(payload.time);
  if (signedAt === undefined || Math.abs(signedAt - receivedAt) > SIGNATURE_FRESHNESS_MS + (ballot.slackMs ?? 0)) {
    return refuse(
      'stale_signature',
      `The decision was signed at ${payload.time}, more than 5 minutes from its arrival at ${new Date(receivedAt).toISOString()}; sign it again (and check your clock).`,
    );
  }
  if (ballot.excluded.includes(facts.approverId)) {
    return refuse(
      'self_approval',
      `${facts.approverId} requested this action or owns the agent that proposed it, and cannot decide on it; another approver must.`,
    );
  }
  // A rejection is this person's "no" to this action, whichever of its plans they were looking at.
  if (payload.decision === 'approve' && payload.planHash !== ballot.planHash) {
    return refuse(
      'wrong_plan_hash',
      `The decision names plan ${payload.planHash.slice(0, 12)}, but the plan awaiting approval is ${(ballot.planHash ?? '(none)').slice(0, 12)}. ` +
        `Review the current plan (airlock show ${ballot.actionId}) and decide on that.`,
    );
  }
  if (payload.decision === 'reject' && !payload.reason?.trim()) {
    return refuse('missing_reason', 'A rejection needs a reason, so the agent and its user learn what to change.');
  }
  if (!facts.permitted)
    return refuse('not_permitted', `Policy does not permit ${facts.approverId} to approve this task.`);
  if (payload.decision === 'approve' && ballot.approvedBy.includes(facts.approverId)) {
    return refuse(
      'duplicate_approver',
      `${facts.approverId} has already approved; ${ballot.required - ballot.approvedBy.length} more distinct approver(s) needed.`,
    );
  }
  return { accepted: true };
}

/** The action's state when a decision arrived. */
export interface Arrival {
  at: number;
  deciding: boolean;
  expiresAt?: number;
  nonceFresh: boolean;
}

/** The refusal of any decision at `receivedAt` because the action takes none, or its window has closed. */
function closedVerdict(ballot: Ballot, receivedAt: number): Verdict | undefined {
  if (!ballot.deciding)
    return refuse(
      'not_awaiting_approval',
      `Action ${ballot.actionId} is ${ballot.status}, not awaiting approval; the decision changes nothing.`,
    );
  if (ballot.expiresAt !== undefined && receivedAt >= ballot.expiresAt) {
    return refuse(
      'expired',
      `The approval window of action ${ballot.actionId} closed at ${new Date(ballot.expiresAt).toISOString()}; ask the agent to propose again.`,
    );
  }
  return undefined;
}

/** Verifies an Ed25519 signature (base64) over a text against a registered key; supplied by the caller. */
export type SignatureVerifier = (text: string, signature: string, publicKey: string) => boolean;

/** What the approval stage of one action is configured with. */
export interface ApprovalRules {
  /** Canonical ids who may not decide: the user and the agent's owners. */
  excluded: readonly string[];
  /** How long each window stays open (ms). */
  windowMs: number;
  /** Registered people's public keys (raw, base64) by canonical id, for the validator's signature check. */
  keys: Readonly<Record<string, string>>;
  /** Their passkeys by canonical id, as registered when the action was admitted. */
  passkeys?: Readonly<Record<string, readonly PasskeyCredential[]>>;
  verify: SignatureVerifier;
}

/** Where the approval stage stands. */
export type ApprovalOutcome = 'waiting' | 'approved' | 'rejected' | 'expired';

/** What the workflow keeps of the approval stage: the parts of its {@link ActionState}. */
export type ApprovalState = Pick<
  ActionState,
  | 'id'
  | 'runId'
  | 'status'
  | 'plan'
  | 'stalePlans'
  | 'approvalsRequired'
  | 'approvedBy'
  | 'approvals'
  | 'expiresAt'
  | 'refusalsNotKept'
  | 'refusedBeforeHistory'
>;

/**
 * The approval stage of one action as a small state machine over the action's state: windows open on a plan,
 * decisions are screened (before history) and judged (in history), quorum or a rejection ends the wait, execution
 * closes it, and a plan that went stale reopens it. The workflow drives it with its own clock; the property tests
 * drive it with random interleavings.
 */
export class ApprovalProcess {
  private deciding = false;
  private rejection?: ApprovalAttempt;
  private readonly nonces = new Set<string>();
  private readonly refusalsBy = new Map<string, number>();
  /** The highest signature counter seen from each passkey on this action. */
  private readonly counters = new Map<string, number>();
  /** Decisions signed by passkeys unknown at admission: see {@link MAX_LATE_PASSKEYS}. */
  private lateArrivals = 0;
  /** Passkeys known at admission that the registry no longer holds (removed): refused before history from then on. */
  private readonly revoked = new Set<string>();

  private rules: ApprovalRules = { excluded: [], windowMs: 0, keys: {}, verify: () => false };

  constructor(private readonly state: ApprovalState) {}

  /** Sets who may not decide, the window and the keys, once admission has verified the proposal. */
  configure(rules: ApprovalRules): void {
    this.rules = rules;
  }

  /** Opens a window on the current plan at `now`. */
  open(now: number): void {
    this.deciding = true;
    this.state.expiresAt = new Date(now + this.rules.windowMs).toISOString();
  }

  /**
   * The update validator's screen at `now`: refuses, before history, anything that is not a well-formed decision
   * signed by a registered person for this very action and run, signed recently, for an action awaiting decisions;
   * a replay; or a person's attempts beyond their cap. So what reaches history (and a person's cap) was signed by
   * that person for this run, lately: nobody can fill it with decisions copied from elsewhere. What it lets through
   * is judged (and recorded) by {@link receive}. Counts what it refuses. (One kind passes unverified: a decision signed
   * by a passkey enrolled after the action was admitted, which the handler checks against the registry as it is now;
   * at most {@link MAX_LATE_PASSKEYS} of those, never counted against the person they name.)
   */
  screen(value: unknown, now: number): Verdict {
    const verdict = this.screenOnly(value, now);
    if (!verdict.accepted) {
      const counts = this.state.refusedBeforeHistory;
      counts.total += 1;
      counts.byCode[verdict.code] = (counts.byCode[verdict.code] ?? 0) + 1;
    }
    return verdict;
  }

  private screenOnly(value: unknown, now: number): Verdict {
    const shape = checkDecisionShape(value);
    if (!shape.ok) return refuse(shape.code, shape.message);
    const { payload, signature } = shape.signed;
    if (!this.deciding)
      return refuse(
        'not_awaiting_approval',
        `Action ${this.state.id} is ${this.state.status}, not awaiting approval; the decision changes nothing.`,
      );
    const id = canonicalPersonId(payload.approver);
    const key = Object.prototype.hasOwnProperty.call(this.rules.keys, id) ? this.rules.keys[id] : undefined;
    if (key === undefined) return refuse('unknown_key', `No public key is registered for "${payload.approver}".`);
    const text = signedText('airlock.decision.v1', payload);
    const assertion = parsePasskeySignature(signature);
    if (assertion) {
      const passkeys = Object.prototype.hasOwnProperty.call(this.rules.passkeys ?? {}, id)
        ? (this.rules.passkeys as Record<string, readonly PasskeyCredential[]>)[id]
        : [];
      const credential = passkeys.find((c) => c.id === assertion.credentialId);
      // A passkey enrolled after this action was admitted is not known here: the handler's check reads the live
      // registry. Few such decisions pass (a bound on what strangers can record).
      if (!credential && this.lateArrivals >= MAX_LATE_PASSKEYS)
        return refuse(
          'unknown_key',
          `This passkey was not registered to ${id} when the action began, and too many such decisions came; sign with a key or passkey registered before.`,
        );
      if (this.revoked.has(assertion.credentialId))
        return refuse('bad_signature', `This passkey is no longer registered to ${id}.`);
      const verdict = credential && verifyPasskeyAssertion(text, assertion, credential);
      if (verdict && !verdict.valid)
        return refuse('bad_signature', `The passkey assertion does not verify for ${id}: ${verdict.why}.`);
    } else if (!this.rules.verify(text, signature, key)) {
      return refuse('bad_signature', `The signature does not verify against ${id}'s registered key.`);
    }
    if (payload.actionId !== this.state.id || payload.runId !== this.state.runId) {
      return refuse(
        'wrong_action',
        `This decision was signed for action ${payload.actionId} (run ${payload.runId}), not for ${this.state.id} (run ${this.state.runId}).`,
      );
    }
    if (Math.abs((parseSigningTime(payload.time) as number) - now) > SIGNATURE_FRESHNESS_MS) {
      return refuse(
        'stale_signature',
        `The decision was signed at ${payload.time}, more than 5 minutes from now; sign it again (and check your clock).`,
      );
    }
    if (this.nonces.has(payload.nonce))
      return refuse('replayed_nonce', 'This signed decision was already delivered once; sign a new one.');
    if ((this.refusalsBy.get(`${id}/${payload.decision}`) ?? 0) >= MAX_REFUSALS_PER_PERSON) {
      return refuse(
        'too_many_attempts',
        `${id} has sent ${MAX_REFUSALS_PER_PERSON} refused ${payload.decision === 'approve' ? 'approvals' : 'rejections'} on this action; further ones are not recorded.`,
      );
    }
    return { accepted: true };
  }

  /**
   * A screened decision arrives at `now`: taken at once, before any await. Its nonce is claimed (the same signed
   * decision delivered twice concurrently is judged once) and the action's state noted, so that the decision is
   * judged by what the action was when it arrived. One that arrives when the action takes no decisions, or after its
   * window closed (say, it waited in Temporal while no worker ran), is refused and recorded at once.
   */
  arrive(signed: SignedDecision, now: number): { arrival: Arrival } | { refused: ApprovalAttempt } {
    const nonceFresh = !this.nonces.has(signed.payload.nonce);
    this.nonces.add(signed.payload.nonce);
    // Counted here, before the handler's await: decisions in flight together cannot all slip under the bound.
    if (this.unknownPasskey(signed)) this.lateArrivals += 1;
    const arrival: Arrival = {
      at: now,
      deciding: this.deciding,
      expiresAt: this.state.expiresAt ? Date.parse(this.state.expiresAt) : undefined,
      nonceFresh,
    };
    const closed = closedVerdict(this.ballot(arrival), now);
    if (!closed) return { arrival };
    const id = canonicalPersonId(signed.payload.approver);
    return {
      refused: this.record(signed, closed, { approverId: id, signatureValid: true, permitted: false, nonceFresh }, now),
    };
  }

  /** Judges an arrived decision with the facts its signature and policy checks found, records it and applies it. */
  receive(
    signed: SignedDecision,
    facts: Omit<DecisionFacts, 'nonceFresh'> & { policyIds?: string[] },
    arrival: Arrival,
  ): ApprovalAttempt {
    const use = facts.signatureValid ? facts.passkey : undefined;
    if (use?.credential && this.unknownPasskey(signed)) {
      // A late passkey that verified is known from now on (the credential comes from the check in history: replayed alike).
      const id = canonicalPersonId(signed.payload.approver);
      const known = { ...(this.rules.passkeys ?? {}) };
      known[id] = [...(Object.prototype.hasOwnProperty.call(known, id) ? known[id] : []), use.credential];
      this.rules = { ...this.rules, passkeys: known };
    }
    const assertion = parsePasskeySignature(signed.signature);
    if (assertion && !facts.signatureValid && !this.unknownPasskey(signed)) this.revoked.add(assertion.credentialId);
    const counterAdvanced = use ? counterAdvances(this.counters.get(use.credentialId), use.counter) : undefined;
    if (use) this.counters.set(use.credentialId, Math.max(use.counter, this.counters.get(use.credentialId) ?? 0));
    const all = { ...facts, nonceFresh: arrival.nonceFresh, ...(use ? { counterAdvanced } : {}) };
    return this.record(signed, judgeDecision(signed.payload, all, this.ballot(arrival), arrival.at), all, arrival.at);
  }

  private record(
    signed: SignedDecision,
    verdict: Verdict,
    facts: DecisionFacts & { policyIds?: string[] },
    now: number,
  ): ApprovalAttempt {
    const { payload } = signed;
    const attempt: ApprovalAttempt = {
      approver: facts.approverId ?? payload.approver,
      decision: payload.decision,
      reason: payload.reason,
      planHash: payload.planHash,
      nonce: payload.nonce,
      signedAt: payload.time,
      signature: signed.signature,
      at: new Date(now).toISOString(),
      accepted: verdict.accepted,
      ...(verdict.accepted ? {} : { refusal: { code: verdict.code, message: verdict.message } }),
      ...(facts.policyIds ? { policyIds: facts.policyIds } : {}),
    };
    if (verdict.accepted) {
      this.state.approvals.push(attempt);
      if (payload.decision === 'approve') this.state.approvedBy.push(facts.approverId as string);
      else this.rejection ??= attempt;
      return attempt;
    }
    const who = `${facts.approverId ?? canonicalPersonId(payload.approver)}/${payload.decision}`;
    // A passkey signature the handler could not verify (unknown to the action, or removed from the registry) is not
    // the named person's doing, whoever sent it: it does not use up their attempts.
    const unverifiedPasskey = isPasskeySignature(signed.signature) && !facts.signatureValid;
    if (!unverifiedPasskey) this.refusalsBy.set(who, (this.refusalsBy.get(who) ?? 0) + 1);
    const kept = this.state.approvals.filter((a) => !a.accepted).length;
    if (kept < MAX_KEPT_REFUSALS) this.state.approvals.push(attempt);
    else this.state.refusalsNotKept += 1;
    return attempt;
  }

  /** Whether a decision is signed by a passkey this action did not know for the person it names. */
  private unknownPasskey(signed: SignedDecision): boolean {
    const assertion = parsePasskeySignature(signed.signature);
    if (!assertion) return false;
    const id = canonicalPersonId(signed.payload.approver);
    const known = Object.prototype.hasOwnProperty.call(this.rules.passkeys ?? {}, id)
      ? (this.rules.passkeys as Record<string, readonly PasskeyCredential[]>)[id]
      : [];
    return !known.some((c) => c.id === assertion.credentialId);
  }

  /** Where the stage stands at `now`. A rejection wins over a quorum reached in the same instant. */
  outcome(now: number): ApprovalOutcome {
    if (this.rejection) return 'rejected';
    if (this.state.approvedBy.length >= this.state.approvalsRequired) return 'approved';
    if (this.state.expiresAt && now >= Date.parse(this.state.expiresAt)) return 'expired';
    return 'waiting';
  }

  /** The accepted rejection, if any. */
  get rejectedBy(): ApprovalAttempt | undefined {
    return this.rejection;
  }

  /** Stops taking decisions: the action executes (or ends). Decisions from now on are refused. */
  close(): void {
    this.deciding = false;
  }

  /**
   * The plan made just before execution differs from the approved one: the approved plan goes stale, approvals
   * start over on the new plan in a new window. Returns false when the action has gone stale too often.
   */
  replanned(fresh: Plan, now: number): boolean {
    if (this.state.plan) this.state.stalePlans.push(this.state.plan);
    this.state.plan = fresh;
    this.state.approvedBy.splice(0);
    if (this.state.stalePlans.length >= MAX_STALE_PLANS) return false;
    this.open(now);
    return true;
  }

  /** The action as a decision is judged against it: as it was when the decision arrived, with the current plan. */
  private ballot(arrival: Arrival): Ballot {
    return {
      actionId: this.state.id,
      runId: this.state.runId,
      status: this.state.status,
      deciding: arrival.deciding,
      planHash: this.state.plan?.hash,
      expiresAt: arrival.expiresAt,
      excluded: this.rules.excluded,
      approvedBy: this.state.approvedBy,
      required: this.state.approvalsRequired,
    };
  }
}

/** One decision as `executeAction` reads it back from the action's history. */
export interface RecordedDecision {
  signed: SignedDecision;
  /** When Temporal accepted the update (ms, the server's clock). */
  receivedAt: number;
  /** What the workflow answered: accepted or refused. */
  acceptedByWorkflow: boolean;
  facts: DecisionFacts;
}

/** What `executeAction`'s re-check of the approvals found. */
export type QuorumCheck =
  { ok: true; approvers: string[] } | { ok: false; code: 'rejected' | 'no_quorum'; message: string };

/**
 * The approvals evidence `executeAction` requires before it mints anything, re-checked from the action's history:
 * no valid rejection — one that a registered, permitted person other than the user and the agent's owners signed for
 * this action and run, fresh, with a reason — whatever the workflow answered it (a workflow that refuses a rejection
 * it should have obeyed is not believed); and at least `required` distinct permitted people whose approvals of
 * exactly `planHash`, for this action and run, the workflow accepted, whose signatures verify and were fresh when they
 * arrived, and which arrived no longer than the approval window plus {@link EXECUTION_GRACE_MS} before `now`.
 *
 * The workflow is stricter still (a plan that goes stale restarts its count); this check holds whoever scheduled
 * the activity.
 */
export function checkQuorum(args: {
  decisions: readonly RecordedDecision[];
  actionId: string;
  runId: string;
  planHash: string;
  required: number;
  excluded: readonly string[];
  windowMs: number;
  now: number;
}): QuorumCheck {
  const approvers: string[] = [];
  const ballot: Ballot = {
    actionId: args.actionId,
    runId: args.runId,
    status: 'executing',
    deciding: true,
    planHash: args.planHash,
    excluded: args.excluded,
    approvedBy: approvers,
    required: args.required,
    slackMs: EVIDENCE_CLOCK_SLACK_MS,
  };
  const judged = args.decisions.flatMap((d) => {
    const shape = checkDecisionShape(d.signed);
    return shape.ok ? [{ ...d, payload: shape.signed.payload }] : [];
  });
  const rejection = judged.find(
    (d) =>
      d.payload.decision === 'reject' &&
      judgeDecision(d.payload, { ...d.facts, nonceFresh: true }, ballot, d.receivedAt).accepted,
  );
  if (rejection) {
    const p = rejection.payload;
    return {
      ok: false,
      code: 'rejected',
      message: `${p.approver} rejected this action (${p.reason ?? 'no reason'}); it must not execute.`,
    };
  }
  const problems: string[] = [];
  const oldest = args.now - args.windowMs - EXECUTION_GRACE_MS;
  for (const d of judged) {
    if (!d.acceptedByWorkflow || d.payload.decision !== 'approve') continue;
    const verdict = judgeDecision(d.payload, { ...d.facts, nonceFresh: true }, ballot, d.receivedAt);
    if (!verdict.accepted) {
      if (verdict.code !== 'duplicate_approver') problems.push(`${d.payload.approver}: ${verdict.code}`);
      continue;
    }
    if (d.receivedAt < oldest) {
      problems.push(`${d.payload.approver}: expired (approved ${new Date(d.receivedAt).toISOString()})`);
      continue;
    }
    approvers.push(d.facts.approverId as string);
  }
  if (approvers.length >= args.required) return { ok: true, approvers };
  return {
    ok: false,
    code: 'no_quorum',
    message:
      `Plan ${args.planHash.slice(0, 12)} needs ${args.required} distinct valid approval(s); the history shows ${approvers.length}` +
      `${approvers.length ? ` (${approvers.join(', ')})` : ''}${problems.length ? `; not counted: ${problems.slice(0, 10).join('; ')}` : ''}.`,
  };
}

/**
 * Until when a proposal may be carried out (ms): a few minutes for an action that needs no approval, otherwise
 * as many approval windows as re-approvals allow, plus the time execution may spend retrying.
 */
export function executableUntil(
  proposalTime: number,
  approvalsRequired: number,
  windowMs: number,
  freshnessMs: number,
): number {
  const windows = approvalsRequired > 0 ? MAX_STALE_PLANS * windowMs : 0;
  return proposalTime + freshnessMs + windows + EXECUTION_GRACE_MS;
}
