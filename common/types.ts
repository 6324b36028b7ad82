import type { NotificationPolicy } from './notification-schedule';
import type { UsageSnapshot } from './usage-book';
/**
 * Data that crosses the workflow boundary: proposals, plans, decisions, approvals, results.
 * Workflow-safe: types and plain data only.
 */
import type { ActionStatus, Risk } from './statuses';

/** What an agent proposes, before it is signed. `input` is untrusted until the task's schema has parsed it. */
export interface ActionRequest {
  /** Registered task name, e.g. `crm.add_note_to_customer`. */
  task: string;
  /** Input for the task; validated by the workflow, never trusted as given. */
  input: unknown;
  /** The proposing agent. */
  agent: string;
  /** The user the agent acts for, if any. */
  user?: string;
  /** Why the agent proposes this, shown to approvers. */
  reason?: string;
  /** Plan only: the action ends `planned` and executes nothing. */
  dryRun?: boolean;
}

/**
 * What an agent signs when it proposes: who, for whom, what, a digest of the input, and when. The signature binds
 * the proposal to one action id, so it can run as that action only, and only once.
 */
export interface ProposalPayload {
  /** The action (workflow) id this proposal may run as. */
  actionId: string;
  agent: string;
  user?: string;
  task: string;
  /** sha-256 (hex) of the canonical JSON of the input as proposed. */
  inputDigest: string;
  reason?: string;
  dryRun: boolean;
  idempotencyKey?: string;
  /** When the agent signed it (ISO 8601 UTC); a proposal older than a few minutes when it starts is refused. */
  time: string;
  /** Random, single use. */
  nonce: string;
}

/**
 * A proposal as the action workflow receives it, and the first piece of evidence every activity checks: the signed
 * payload, the input it digests, and the agent's Ed25519 signature (base64) over `airlock.proposal.v1` and the
 * canonical JSON of the payload.
 */
export interface SignedProposal {
  payload: ProposalPayload;
  input: unknown;
  signature: string;
}

/** One field-level difference between the state before and after an action. */
export interface DiffEntry {
  /** Dotted path of the field, e.g. `email` or `notes[3]`. */
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

/** The dry-run result: what would happen, bound to its hash. The plan is data; execution carries it out. */
export interface Plan {
  /** The resource the action touches, e.g. `demo-crm:customer/C-1001`. */
  target: string;
  /** One line for approvers. */
  summary: string;
  /** What executing it would change, in words. */
  sideEffects: string[];
  before: unknown;
  after: unknown;
  diff: DiffEntry[];
  /** sha-256 of the canonical JSON of everything above plus task and input: approvals bind to it. */
  hash: string;
  /** When the plan was made (ISO 8601). */
  plannedAt: string;
}

/** What policy decided about one proposal. */
export interface PolicyDecision {
  decision: 'allow' | 'deny';
  /** Distinct approvals required before execution; 0 = none. */
  approvalsRequired: number;
  /** Ids of the policies that determined the decision (Cedar `@id`). */
  policyIds: string[];
  /** How long approvers have, in seconds, from the moment the plan is ready. */
  approvalTimeoutSeconds: number;
  /** How long the execution session may last, in seconds (`@session_duration`, default 900, at most 3600). */
  sessionSeconds: number;
  /** Users that policy permits to approve this task (for display; each approval is checked again). */
  eligibleApprovers: string[];
  /** Why, in words, for people. */
  explanation: string;
  /** Whether policy lets the agent preview this task (Cedar `preview`): if not, agents are not shown its plans. */
  agentMayPreview?: boolean;
  /** The task's facts the decision was made on (`context.facts`), when it declares any. */
  facts?: Record<string, number | string | boolean | string[]>;
  /** The plan's facts the decision was made on (`context.plan`), for a task that declares them. */
  planFacts?: Record<string, number | string | boolean | string[]>;
  /** The task's recent actions the decision counted (`context.recent`), for a counted task. */
  recent?: UsageSnapshot;
  /** The facts the deciding policies read, with their values: `facts.x`, `plan.y`, `recent.agent.total`. */
  factsUsed?: Record<string, number | string | boolean | string[]>;
  /** Forbids that refused the proposal with one approval fewer: why it needs as many as it does. */
  raisedBy?: string[];
  /** Log-only policies' verdict beside the enforced one, when any is loaded (see `@mode("shadow")`). */
  shadow?: ShadowDecision;
  /** Whom to remind and when, and whom to escalate to (`@remind`, `@escalate_to`, `@escalate_after`). */
  notifications?: NotificationPolicy;
}

/** What the shadow (log-only) policies would have decided, were they enforced with the others. */
export interface ShadowDecision {
  decision: 'allow' | 'deny';
  approvalsRequired: number;
  policyIds: string[];
  /** Whether it differs from the enforced decision (allowed/denied, or the approvals needed). */
  differs: boolean;
}

/** What an approver signs: the decision bound to one run of one action and one plan, fresh and unique. */
export interface DecisionPayload {
  approver: string;
  actionId: string;
  /** The workflow run: a decision cannot be carried over to another run of the same id. */
  runId: string;
  /** The plan hash the approver reviewed; anything else is refused. */
  planHash: string;
  decision: 'approve' | 'reject';
  reason?: string;
  /** When it was signed (ISO 8601); stale signatures are refused. */
  time: string;
  /** Random, single use: a replayed decision is refused. */
  nonce: string;
}

/** A decision with its Ed25519 signature (base64) over `airlock.decision.v1` and the canonical JSON of the payload. */
export interface SignedDecision {
  payload: DecisionPayload;
  /** base64 */
  signature: string;
}

/** Every refusal code a decision can get, before or in history. */
export const APPROVAL_REFUSAL_CODES = [
  'malformed',
  'oversized',
  'undecodable',
  'too_many_attempts',
  'unknown_key',
  'bad_signature',
  'cloned_authenticator',
  'wrong_action',
  'replayed_nonce',
  'stale_signature',
  'not_awaiting_approval',
  'wrong_plan_hash',
  'self_approval',
  'not_permitted',
  'duplicate_approver',
  'missing_reason',
  'expired',
] as const;

/** Why an approval attempt was refused (stable codes; the message says what to do). */
export type ApprovalRefusalCode = (typeof APPROVAL_REFUSAL_CODES)[number];

/**
 * An attempt to approve or reject that reached the action's history, accepted or refused. A refusal the update
 * validator made before history (malformed, undecodable, unsigned, replayed, ...) has `recorded: false` and is only
 * counted in {@link ActionState.refusedBeforeHistory}.
 */
export interface ApprovalAttempt {
  /** The approver's canonical id when their key is registered, else the name as sent. */
  approver: string;
  decision: 'approve' | 'reject';
  reason?: string;
  planHash: string;
  nonce: string;
  /** When the approver signed it, by their clock. */
  signedAt: string;
  /** The signature, kept so the decision can be verified again later. */
  signature: string;
  /** When the workflow received it (ISO 8601). */
  at: string;
  accepted: boolean;
  refusal?: { code: ApprovalRefusalCode; message: string };
  /** Ids of the policies that permitted (or failed to permit) this approver. */
  policyIds?: string[];
  /** False when the update validator refused it before it reached history. */
  recorded?: boolean;
}

/** Decision messages refused before they reached history, by refusal code. */
export interface RefusalCounts {
  total: number;
  byCode: Partial<Record<ApprovalRefusalCode, number>>;
}

/** Credential facts safe to record: never a key, token or secret value. */
export interface CredentialRecord {
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
  expiresAt: string;
  durationSeconds: number;
  secretIds: string[];
}

/**
 * What `executeAction` found: it executed, or the plan it made just before executing differs from the approved
 * one (the target changed), and nothing was executed.
 */
export type ExecuteOutcome =
  | { kind: 'executed'; result: ExecutionResult }
  /**
   * The target changed since the approved plan: the new plan, how many approvals policy asks of it, and the decision
   * on it (what `show` and `policy explain` then say decided the action).
   */
  | { kind: 'plan_changed'; plan: Plan; approvalsRequired?: number; policy?: PolicyDecision };

/** What the execute activity returns when it executed. */
export interface ExecutionResult {
  /** The target's response, with every secret value redacted. */
  output: unknown;
  credentials: CredentialRecord;
  /** The idempotency key sent to the target. */
  idempotencyKey: string;
  /**
   * What reading the target back after the effect found, against the plan's `after`. Absent from results recorded
   * before read-back existed.
   */
  verification?: ReadBackVerification;
}

/** One field where the target, read back after execution, does not hold what the plan said it would. */
export interface ReadBackDifference {
  /** Dotted path of the field, as in a plan's diff. */
  path: string;
  /** What the plan's `after` holds there; absent when the plan has no such field. */
  planned?: unknown;
  /** What the target holds there; absent when it has no such field. */
  found?: unknown;
}

/**
 * Terraform's "inconsistent result after apply", for business APIs: after the effect, the task read its target again
 * and compared it with the plan's `after`. `matches` and `differs` say what the read found; `unverified`, that the
 * read could not be made or had nothing to compare with (the effect still happened); `not_readable`, that the task's
 * target cannot be read back (say, a sent email).
 */
export interface ReadBackVerification {
  status: 'matches' | 'differs' | 'unverified' | 'not_readable';
  /** With `differs`: the fields that differ, the first {@link MAX_READ_BACK_DIFFERENCES}. */
  differences?: ReadBackDifference[];
  /** With `differs`: how many more fields differ than are listed. */
  moreDifferences?: number;
  /** With `unverified` and `not_readable`: why, in words. */
  reason?: string;
  /** When the target was read (ISO 8601), for `matches` and `differs`. */
  readAt?: string;
}

/** How many differing fields a verification lists (the rest are counted): a result stays small in history. */
export const MAX_READ_BACK_DIFFERENCES = 20;

/** An error as recorded on an action. */
export interface ActionError {
  /** Stable error type, e.g. `AIRLOCK_TARGET_ERROR`. */
  type: string;
  message: string;
}

/** A validation issue, as zod reports it. */
export interface InputIssue {
  path: (string | number)[];
  code: string;
  message: string;
}

/** The whole state of one action, as the workflow keeps it and the query returns it. */
export interface ActionState {
  id: string;
  /** The workflow run; signed decisions name it. */
  runId: string;
  task: string;
  status: ActionStatus;
  agent: string;
  user?: string;
  /** The user when there is one, else the agent. */
  requester: string;
  /** People responsible for the agent (from its registration); they may not approve its actions. */
  owners: string[];
  reason?: string;
  dryRun: boolean;
  risk?: Risk;
  description?: string;
  /** The validated, normalised input (absent while validating or when invalid). */
  input?: unknown;
  issues?: InputIssue[];
  policy?: PolicyDecision;
  plan?: Plan;
  /** Plans that were approved but went stale: the target changed before execution. Newest last. */
  stalePlans: Plan[];
  approvalsRequired: number;
  /** Approvers whose approvals were accepted, in order. */
  approvedBy: string[];
  approvals: ApprovalAttempt[];
  /** Refused attempts left out of `approvals` once it holds its cap (they stay in history). */
  refusalsNotKept: number;
  /**
   * Decision messages refused before they reached history (malformed, oversized, undecodable, unsigned, replayed,
   * ...). Counted in the worker's memory: a worker that reloads the action from history starts again from zero,
   * and each refusal is also in the worker's log.
   */
  refusedBeforeHistory: RefusalCounts;
  /** When an awaited approval runs out (ISO 8601). */
  expiresAt?: string;
  result?: ExecutionResult;
  error?: ActionError;
  /** Set when the audit record could not be written (the activity refused it); the history still holds everything. */
  auditError?: string;
  createdAt: string;
  updatedAt: string;
  /** Every status the action went through, with the time it entered it. */
  transitions: { status: ActionStatus; at: string }[];
}
