import { ApplicationFailure } from '@temporalio/common';
import type { LateDecisionOutcome } from './late-decision';

/**
 * Airlock's errors: each has a stable `type` (what code and people match on) and a message that says what was
 * wrong and what to do. `retryable` says whether trying the same thing again can help.
 */
export abstract class AirlockError extends Error {
  /** Stable identifier, also the `type` of the Temporal `ApplicationFailure` it maps to. */
  abstract readonly type: string;
  /** Whether Temporal should retry the activity that threw it. */
  readonly retryable: boolean = false;

  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The Temporal failure this error becomes when an activity throws it. */
  toFailure(): ApplicationFailure {
    return ApplicationFailure.create({
      type: this.type,
      message: this.message,
      nonRetryable: !this.retryable,
      details: this.details === undefined ? undefined : [this.details],
      ...(this.nextRetryDelayMs() !== undefined ? { nextRetryDelay: this.nextRetryDelayMs() } : {}),
    });
  }

  /** When the next attempt must come, if not at Temporal's own backoff. */
  protected nextRetryDelayMs(): number | undefined {
    return undefined;
  }
}

/** The task name is not registered. */
export class UnknownTaskError extends AirlockError {
  readonly type = 'AIRLOCK_UNKNOWN_TASK';
  constructor(task: string, known: string[]) {
    super(
      `Unknown task "${task}". Registered tasks: ${known.join(', ') || '(none)'}. Run \`airlock tasks\` to list them.`,
    );
  }
}

/** A task was registered twice under one name. */
export class DuplicateTaskError extends AirlockError {
  readonly type = 'AIRLOCK_DUPLICATE_TASK';
  constructor(task: string) {
    super(`Task "${task}" is already registered. Task names must be unique: rename one of the two task files.`);
  }
}

/** A task definition is malformed. */
export class TaskDefinitionError extends AirlockError {
  readonly type = 'AIRLOCK_TASK_DEFINITION';
}

/** Configuration is missing or malformed (the environment, a local stack profile, policy or identity files). */
export class ConfigError extends AirlockError {
  readonly type = 'AIRLOCK_CONFIG';
}

/** Policy could not be evaluated (as opposed to a deny, which is a decision). */
export class PolicyEvaluationError extends AirlockError {
  readonly type = 'AIRLOCK_POLICY_EVALUATION';
}

/** Minting credentials or reading a secret failed. */
export class CredentialError extends AirlockError {
  readonly type = 'AIRLOCK_CREDENTIALS';
  constructor(
    message: string,
    override readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The target system answered with an error. 4xx will not get better by retrying; 5xx and network errors may. */
export class TargetError extends AirlockError {
  readonly type = 'AIRLOCK_TARGET_ERROR';
  constructor(
    message: string,
    readonly status: number | undefined,
    override readonly retryable: boolean,
    /** How long the target asked to be left alone (`Retry-After`): the next attempt must not come sooner. */
    readonly retryAfterMs?: number,
  ) {
    super(message, { status });
  }

  // Temporal's own backoff would knock again too soon: the target said when.
  protected override nextRetryDelayMs(): number | undefined {
    return this.retryable ? this.retryAfterMs : undefined;
  }
}

/** No action has this id. */
export class ActionNotFoundError extends AirlockError {
  readonly type = 'AIRLOCK_ACTION_NOT_FOUND';
  constructor(id: string) {
    super(`No action with id "${id}". Run \`airlock pending\` or \`airlock list\` to see actions.`);
  }
}

/** An idempotency key was reused for a different proposal. */
export class IdempotencyConflictError extends AirlockError {
  readonly type = 'AIRLOCK_IDEMPOTENCY_CONFLICT';
  constructor(key: string, id: string) {
    super(
      `Idempotency key "${key}" was already used for a different proposal (action ${id}). ` +
        'Use a new key for a new proposal, or resend exactly the same proposal to get the existing action.',
    );
  }
}

/**
 * An execution this run began (its audit record says so) was interrupted, and policy no longer lets the action run
 * without approval: Airlock will not carry it out again, and cannot tell whether the target saw it. Never retried.
 */
export class ExecutionInterruptedError extends AirlockError {
  readonly type = 'AIRLOCK_EXECUTION_INTERRUPTED';
  constructor(actionId: string) {
    super(
      `An execution of action ${actionId} began (see its execution record in the audit log) and was interrupted, and ` +
        'policy no longer lets it run without approval, so it is not carried out again. Check the target for its ' +
        `effect (idempotency key ${actionId}) and propose again if it is missing.`,
    );
  }
}

/**
 * An activity was asked to act without the evidence that allows it: no valid signed proposal for this very action
 * and run, a proposal policy does not allow now, approvals missing, expired or rejected, a plan that is not the
 * approved one. Never retried: the same evidence will not become valid. Nothing was minted or called.
 */
export class EvidenceError extends AirlockError {
  readonly type = 'AIRLOCK_EVIDENCE';
  constructor(
    /** Stable code of what is missing, e.g. `proposal_bad_signature`, `no_quorum`, `rejected`. */
    readonly code: string,
    message: string,
  ) {
    super(`Refused: ${message} Nothing was minted or called.`, { code });
  }
}

/**
 * What Temporal returned as an action's plan is not what its hash says: a person would be shown one plan and sign
 * another. Nothing is shown as the plan, and nothing is signed.
 */
export class PlanIntegrityError extends AirlockError {
  readonly type = 'AIRLOCK_PLAN_MISMATCH';
  constructor(id: string) {
    super(
      `Action ${id}: the plan Temporal returned does not match its hash, so what you would be shown is not what you would sign. ` +
        'Nothing was signed. Check which Temporal you are connected to (TEMPORAL_ADDRESS, or the local stack profile .airlock/local-stack.env) and report it.',
    );
  }
}

/** A decision could not be delivered (the action finished, or the command was malformed). */
export class DecisionError extends AirlockError {
  readonly type = 'AIRLOCK_DECISION';
}

/**
 * A decision that arrived after its action had ended: it changed nothing. `outcome` says whether the workers recorded
 * it in the audit log (absent when they had not answered in time).
 */
export class LateDecisionError extends DecisionError {
  constructor(
    message: string,
    readonly outcome?: LateDecisionOutcome,
  ) {
    super(message, outcome);
  }
}

/** Turns any thrown value into the Temporal failure an activity should throw; unknown errors stay retryable. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof AirlockError) return err.toFailure();
  return err;
}
