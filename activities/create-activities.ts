import type { STSClient } from '@aws-sdk/client-sts';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHmac } from 'node:crypto';
import { sameSecret } from '../crypto/same-secret';
import { Context } from '@temporalio/activity';
import { canonicalJson } from '../common/canonical-json';
import { planHashBody } from '../common/plan-hash';
import { z } from 'zod';
import { executableUntil } from '../common/approval-rules';
import { EvidenceError, ExecutionInterruptedError, toActivityFailure } from '../common/errors';
import { TWO_TASK_STEPS } from '../common/action-steps';
import { PROPOSAL_FRESHNESS_MS } from '../common/proposal';
import type {
  ExecuteOutcome,
  ExecutionResult,
  InputIssue,
  Plan,
  PolicyDecision,
  SignedDecision,
} from '../common/types';
import type { Risk } from '../common/statuses';
import { isUndecodable } from '../common/undecodable';
import { FINAL_STATUSES } from '../common/statuses';
import { visible } from '../common/terminal-text';
import type { SessionCredentials, TaskContext } from '../tasks/define-task';
import type { TaskRegistry } from '../tasks/task-registry';
import type { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import type { AwsSettings } from '../config/runtime-config';
import type { Identities } from '../config/identities';
import { createNotifier, type NotificationChannels } from './notifier';
import { createLateDecisionActivities } from './late-decisions';
import type { PasskeyCredential } from '../common/webauthn-assertion';
import type { PasskeyUse } from '../common/approval-rules';
import type { AuditRecordKind, AuditStore } from '../audit/audit-store';
import { decisionsIn, type RunHistory } from '../audit/run-history';
import { admissionFacts, describeHistory, finishedFact, proposedFact, type AuditFact } from '../audit/audit-trail';
import { sha256Canonical } from '../crypto/sha256';
import { diffValues } from '../common/plan-diff';
import { redact, redactError } from '../crypto/redact';
import { mintSession, type MintedSession } from './mint-session';
import { readBackAfter } from './read-back';
import {
  createEvidence,
  planFactsOf,
  usageAmount,
  type Execution,
  type FactRecord,
  type VerifiedProposal,
} from './evidence';
import type { UsageLedger } from './usage-ledger';
import type { ActivityTelemetry } from '../telemetry/activity-telemetry';
import { SWEEP_AFTER_MS, type BookEntry, type Reservation, type Settlement } from '../common/usage-book';
import { parseDurationSeconds } from '../common/durations';

/** Everything the activities depend on; tests and the worker build it, nothing is global. */
export interface ActivityDeps {
  /** STS client with the worker's own identity (the only one that may assume task roles). */
  sts: STSClient;
  /** Builds a Secrets Manager client for one minted session. */
  secrets: (credentials: SessionCredentials) => SecretsManagerClient;
  /** HTTP client handed to tasks. */
  http: typeof fetch;
  /** How long one target call may take (default {@link DEFAULT_TARGET_TIMEOUT_MS}). */
  targetTimeoutMs?: number;
  /** Current time. */
  clock: () => Date;
  registry: TaskRegistry;
  policy: CedarPolicyEngine;
  aws: AwsSettings;
  /** Target base URLs by name. */
  endpoints: Record<string, string>;
  /** Registered people (who sign decisions) and agents (who sign proposals), with their public keys. */
  identities: Identities;
  /** The append-only audit log every finished action is recorded in (a file, or a DynamoDB table). */
  auditLog: AuditStore;
  /** Reads actions' runs back from Temporal. */
  runs: RunHistory;
  /**
   * The workers' own secret key (read once, with the worker's own identity): it authenticates the marks one attempt
   * leaves the next (heartbeat details), which anyone polling the task queue could otherwise write.
   */
  workerKey: () => Promise<Buffer>;
  /** The usage ledgers of counted tasks (`context.recent`). */
  ledger: UsageLedger;
  /** Told how long each stage of an activity took (the benchmark's breakdown); it must not throw. */
  observe?: (stage: ActivityStage, ms: number, actionId: string) => void;
  /** Where people are told that actions wait, and how they ended (none: nobody is told). */
  notifications?: NotificationChannels;
  /** Spans of each stage (in traced actions) and the execution's latency; none: nothing is recorded. */
  telemetry?: ActivityTelemetry;
}

/**
 * The stages an activity's time is told in: `verify` (the proposal's signature, binding and first run), `validate`
 * (task and input), `policy`, `plan` (session, secrets, target reads, hash), `execute` (session, secrets, target
 * call), `audit` (the final record, history read included); and, inside plan and execute, the calls to STS and to
 * Secrets Manager (`sts-plan`, `secrets-execute`, ...), as the AWS SDK's client takes them.
 */
export type ActivityStage =
  | 'verify'
  | 'validate'
  | 'policy'
  | 'ledger'
  | 'plan'
  | 'execute'
  | 'audit'
  | `${'sts' | 'secrets'}-${'plan' | 'execute'}`;

/** What the admission of a proposal found. */
export type Admission = (
  | {
      ok: false;
      /** Whether the proposal itself verified (signature, binding, freshness, first run): only then is it audited. */
      authentic: boolean;
      issues: InputIssue[];
      message: string;
      /** Verified identities, when the proposal was authentic. */
      agent?: string;
      user?: string;
      owners?: string[];
    }
  | {
      ok: true;
      input: unknown;
      risk: Risk;
      target: string;
      description: string;
      agent: string;
      user?: string;
      requester: string;
      owners: string[];
      /** Who may not decide on the action: the user and the agent's owners. */
      excluded: string[];
      policy: PolicyDecision;
      /** Registered people's raw public keys (base64) by canonical id, when approvals are needed. */
      keys?: Record<string, string>;
      /** Their passkeys by canonical id, when approvals are needed and any are enrolled. */
      passkeys?: Record<string, PasskeyCredential[]>;
      /** Whether the admitting worker has a notification channel (approvals needed only). */
      notifies?: boolean;
      /**
       * The dry run, made in the same step when policy allows the proposal (a first attempt: should it fail, the
       * workflow plans with `planAction`, which retries).
       */
      plan?: Plan;
      /**
       * Set when admission went on to execute (policy allowed it with no approval): what the target answered. The
       * plan above is the one carried out.
       */
      executed?: ExecutionResult;
      /** With `executed`: whether admission wrote the final audit record (else the workflow has it written). */
      audited?: boolean;
    }
) & {
  /** The steps of the action, as this version takes them (see {@link TWO_TASK_STEPS}). */
  steps: typeof TWO_TASK_STEPS;
  /** The run it was made for (the workflow refuses an admission made for another: a result copied across runs). */
  runId?: string;
};

/** What verifying a signed decision found (the workflow judges the rest with the approval rules). */
export interface DecisionCheck {
  approverId?: string;
  signatureValid: boolean;
  permitted: boolean;
  policyIds: string[];
  /** For a passkey signature that verified: the credential, and its counter (the workflow's clone check). */
  passkey?: PasskeyUse;
}

/** What the plan and execute activities are given: the agent's signed proposal, never a credential. */
export interface EvidenceArgs {
  proposal: unknown;
  /** For execution: the plan hash the approvals are for. */
  planHash?: string;
}

/** How often an executing activity heartbeats (the workflow gives it 5 s to be heard from: activity-stubs.ts). */
const HEARTBEAT_EVERY_MS = 1000;

/**
 * How long one call to a target may take by default: well inside the execution's 2-minute start-to-close timeout,
 * so a hung call is retried (same idempotency key) by the same worker instead of waiting out the activity.
 */
export const DEFAULT_TARGET_TIMEOUT_MS = 30_000;

/** `http`, with every call cut after `ms` (as well as by whatever signal the caller passes). */
function withTimeout(http: typeof fetch, ms: number): typeof fetch {
  return (input, init) =>
    http(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms),
    });
}

/**
 * Runs `work` heartbeating every second, repeating the details last set (those of an earlier attempt at first, so a
 * retry keeps its predecessor's mark until it sets its own): a worker that dies is noticed by the server within the
 * heartbeat timeout and the activity is tried again on another worker, not after its whole start-to-close timeout.
 * `beat` sets new details. A local activity has no heartbeats: nothing is sent.
 */
async function withHeartbeats<T>(work: (beat: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  if (ctx.info.isLocal) return work(() => undefined);
  let details: unknown = ctx.info.heartbeatDetails;
  const beat = (d: unknown) => {
    details = d;
    ctx.heartbeat(d);
  };
  beat(details);
  const timer = setInterval(() => ctx.heartbeat(details), HEARTBEAT_EVERY_MS);
  try {
    return await work(beat);
  } finally {
    clearInterval(timer);
  }
}

/**
 * The mark an execution attempt leaves after it checked the plan: an HMAC, with the workers' own key, of the run, this
 * scheduling of the activity (its id and when it was scheduled: a mark copied to a later scheduling is worthless) and
 * the plan hash. A retry trusts it, and only it: anyone who can poll the task queue can write heartbeat
 * details, nobody without the key can write this.
 */
function planCheckedMark(
  key: Buffer,
  execution: Execution,
  scheduling: { activityId: string; scheduledTimestampMs: number },
  planHash: string,
  planFacts: unknown,
): string {
  return createHmac('sha256', key)
    .update(
      canonicalJson({
        purpose: 'airlock.plan-checked.v1',
        ...execution,
        activityId: scheduling.activityId,
        scheduledAt: scheduling.scheduledTimestampMs,
        planHash,
        // The approved plan's facts, which a retry decides on without planning again (the mark vouches for them).
        ...(planFacts === undefined ? {} : { planFacts }),
      }),
    )
    .digest('base64');
}

/** Whether `plan` is the plan of this proposal whose hash is `hash` (a plan proves itself by its hash). */
function planHasHash(p: VerifiedProposal, plan: Plan, hash: string): boolean {
  return sha256Canonical(planHashBody(p.task.name, p.parsed, plan)) === hash;
}

/** This activity's scheduling (not its attempt): what an execution record and a plan-checked mark are bound to. */
function schedulingOf(): { activityId?: string; scheduledAt?: number } {
  const info = Context.current().info;
  return { activityId: info.activityId, scheduledAt: info.scheduledTimestampMs };
}

/**
 * How long admission waits for the plan it makes: well inside admission's own timeout, so that a slow target leaves
 * the plan to `planAction` (with its longer timeout and its retries) instead of failing admission.
 */
export const ADMISSION_PLAN_BUDGET_MS = 5_000;

/** `work`'s result if it comes within `ms`, else undefined; a failure is undefined too (the caller tries again). */
async function withinBudget<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The statuses an audit record is written for: every final one. */
const AUDITED_OUTCOMES = new Set<string>(FINAL_STATUSES);

const MAX_ISSUES = 20;
const issueText = (s: string) => (s.length > 300 ? `${s.slice(0, 297)}...` : s);

/** The run that scheduled the current activity, as Temporal reports it. */
function currentExecution(): Execution {
  const { workflowExecution } = Context.current().info;
  if (!workflowExecution)
    throw new EvidenceError('no_workflow', 'An Airlock activity runs only for an action workflow.');
  return { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId };
}

const RecordAuditArgsSchema = z.strictObject({
  /**
   * The status the workflow ends with: it may not be in history yet (a local activity runs before the task
   * completes). Runs begun by an earlier version do not say; their status is in history.
   */
  status: z.string().max(40).optional(),
  refusedBeforeHistory: z.strictObject({
    total: z.number().int().min(0),
    byCode: z.record(z.string().max(40), z.number().int().min(0)),
  }),
  refusalsNotKept: z.number().int().min(0),
});

/**
 * Builds Airlock's activities from their dependencies.
 *
 * Contract: `planAction`, `executeAction` and `recordAudit` can be scheduled by anyone who can reach the namespace,
 * with any arguments, so each must act only on evidence it checks itself: the agent's signed proposal bound to the
 * run Temporal says scheduled it, policy re-evaluated on that proposal, and approvals read back from that run's
 * history. They must not mint a credential or call a target before the evidence holds, and must not return,
 * log or throw a credential or secret.
 */
export function createActivities(deps: ActivityDeps) {
  const evidence = createEvidence({
    identities: deps.identities,
    policy: deps.policy,
    registry: deps.registry,
    runs: deps.runs,
  });

  /**
   * Appends a record of this run of what this activity witnessed itself, each fact stamped with this moment (records
   * built from history, whose events carry their own times, are appended as they are).
   */
  const recordNow = (
    kind: AuditRecordKind,
    execution: Execution,
    record: { task: string; status: string; planHash?: string },
    facts: AuditFact[],
  ) => {
    const now = deps.clock().toISOString();
    return deps.auditLog.append({
      kind,
      actionId: execution.workflowId,
      runId: execution.runId,
      ...(record.planHash ? { planHash: record.planHash } : {}),
      task: record.task,
      status: record.status,
      recordedAt: now,
      events: facts.map((fact) => ({ at: now, eventId: 0, ...fact })),
    });
  };

  /**
   * Runs `fn`, telling `deps.observe` how long it took (when it returns; a failure is not a stage's time), as a stage
   * of `deps.telemetry` (for `task`, where given).
   */
  const timed = <T>(stage: ActivityStage, fn: () => T, task?: string): T => {
    const { observe, telemetry } = deps;
    const run = telemetry ? () => telemetry.stage(stage, fn, task) : fn;
    if (!observe) return run();
    const t0 = performance.now();
    const told = (value: unknown) => {
      observe(stage, performance.now() - t0, Context.current().info.workflowExecution?.workflowId ?? '');
      return value;
    };
    const out = run();
    return (out instanceof Promise ? out.then(told) : told(out)) as T;
  };

  const taskContext = (actionId: string, session: MintedSession, planFacts?: FactRecord): TaskContext => ({
    actionId,
    secrets: session.secrets,
    endpoints: deps.endpoints,
    fetch: withTimeout(deps.http, deps.targetTimeoutMs ?? DEFAULT_TARGET_TIMEOUT_MS),
    callTimeoutMs: deps.targetTimeoutMs ?? DEFAULT_TARGET_TIMEOUT_MS,
    aws: { region: deps.aws.region, endpoint: deps.aws.endpoint, credentials: session.credentials },
    ...(planFacts ? { planFacts } : {}),
  });

  /** Runs `fn` with a minted session; whatever escapes has every sensitive string redacted. */
  const withSession = async <T>(
    p: VerifiedProposal,
    mode: 'plan' | 'execute',
    sessionSeconds: number | undefined,
    fn: (s: MintedSession) => Promise<T>,
  ): Promise<T> => {
    let sensitive: string[] = [];
    try {
      const { observe } = deps;
      const session = await mintSession(
        {
          sts: deps.sts,
          secretsClient: deps.secrets,
          aws: deps.aws,
          clock: deps.clock,
          observe: observe && ((service, ms) => observe(`${service}-${mode}`, ms, p.payload.actionId)),
        },
        {
          task: p.task,
          input: p.parsed,
          actionId: p.payload.actionId,
          requester: p.requester,
          mode,
          durationSeconds: sessionSeconds,
        },
      );
      sensitive = session.sensitive;
      return redact(await fn(session), sensitive);
    } catch (err) {
      throw redactError(err, sensitive);
    }
  };

  /** The dry run itself: reads the target with a read-only session and returns the plan, hashed. */
  const makePlan = (p: VerifiedProposal): Promise<Plan> => timed('plan', () => planWithSession(p));
  const planWithSession = (p: VerifiedProposal): Promise<Plan> =>
    withSession(p, 'plan', undefined, async (session) => {
      const draft = await p.task.plan(p.parsed, taskContext(p.payload.actionId, session));
      // Redacted before it is hashed: the hash binds what people are shown.
      const plan = redact(
        {
          target: p.target,
          summary: draft.summary,
          sideEffects: draft.sideEffects,
          before: draft.before,
          after: draft.after,
          diff: draft.diff ?? diffValues(draft.before, draft.after),
        },
        session.sensitive,
      );
      return {
        ...plan,
        hash: sha256Canonical(planHashBody(p.task.name, p.parsed, plan)),
        plannedAt: deps.clock().toISOString(),
      };
    });

  /**
   * The evidence every regular activity needs: an authentic proposal for the calling run (the first of its id), a
   * registered task and an input that parses, policy allowing it now, and not too old to act on.
   */
  const authenticated = async (args: EvidenceArgs): Promise<{ p: VerifiedProposal; execution: Execution }> => {
    if (isUndecodable(args) || isUndecodable(args?.proposal)) {
      throw new EvidenceError(
        'undecodable',
        'The activity input could not be decrypted: it was not sent by an Airlock worker.',
      );
    }
    const execution = currentExecution();
    const authentic = await timed('verify', () => evidence.authenticate(args.proposal, execution));
    const p = timed('validate', () => evidence.interpret(authentic));
    return { p, execution };
  };

  /** Whether a task's decisions need its plan (it declares plan facts), for a proposal that acts. */
  const needsPlan = (p: VerifiedProposal) => Boolean(p.task.planFacts) && !p.payload.dryRun;

  /**
   * Policy on a proposal: for a counted task, with its figures from the ledger, where this action is reserved first
   * (the same reservation, whichever activity asks, answers the same figures).
   */
  const judge = async (
    p: VerifiedProposal,
    execution: Execution,
    planFacts?: FactRecord,
    planHash?: string,
  ): Promise<PolicyDecision> => {
    const usage = p.task.usage;
    const recent =
      usage && !p.payload.dryRun
        ? await timed('ledger', async () => {
            const reservation = {
              actionId: execution.workflowId,
              runId: execution.runId,
              agent: p.agent.id,
              requester: p.requester,
              amount: usageAmount(p, planFacts),
            };
            // Recorded before the ledger counts it, per plan (a changed plan may count more): every run of a ledger
            // rebuilds from these, and a reservation no worker recorded is dropped.
            const plan = p.task.planFacts ? planHash : undefined;
            if (!(await deps.auditLog.ref(execution.workflowId, execution.runId, 'reservation', plan)))
              await recordNow('reservation', execution, { task: p.task.name, status: 'reserved', planHash: plan }, [
                {
                  kind: 'usage_reserved',
                  summary: `${usage.sum} ${reservation.amount} reserved for ${visible(p.requester)} (agent ${p.agent.id})`,
                  data: reservation,
                },
              ]);
            return deps.ledger.reserve(p.task.name, reservation);
          })
        : undefined;
    return timed('policy', () => evidence.decide(p, { planFacts, recent }), p.task.name);
  };

  /** Policy allows the proposal now, and it is not too old to act on; else it throws, saying which. */
  const allowed = async (p: VerifiedProposal, execution: Execution, planFacts?: FactRecord, planHash?: string) => {
    const policy = await judge(p, execution, planFacts, planHash);
    if (policy.decision !== 'allow')
      throw new EvidenceError('denied', `Policy does not allow this proposal now: ${policy.explanation}`);
    const until = actionableUntil(p, policy);
    if (deps.clock().getTime() > until) {
      throw new EvidenceError(
        'proposal_expired',
        `The proposal of ${p.payload.time} may no longer be acted on (it could be until ${new Date(until).toISOString()}); propose again.`,
      );
    }
    return policy;
  };

  /** Until when a proposal may be acted on (planned, executed), under the policy decision on it. */
  const actionableUntil = (p: VerifiedProposal, policy: PolicyDecision): number =>
    executableUntil(p.signedAt, policy.approvalsRequired, policy.approvalTimeoutSeconds * 1000, PROPOSAL_FRESHNESS_MS);

  /**
   * Admission's checks, in order, each refusal an answer (not a failure): the proposal's authenticity, the task, the
   * input's schema, then policy.
   */
  const admit = async (
    proposal: unknown,
    execution: Execution,
    begun?: Plan,
  ): Promise<
    | { ok: false; admission: Admission }
    | { ok: true; admission: Admission & { ok: true }; p: VerifiedProposal; policy: PolicyDecision; plan?: Plan }
  > => {
    const refused = (admission: Omit<Extract<Admission, { ok: false }>, 'steps' | 'ok'>) => ({
      ok: false as const,
      admission: { steps: TWO_TASK_STEPS, runId: execution.runId, ok: false as const, ...admission },
    });
    let authentic;
    try {
      authentic = await timed('verify', () => evidence.authenticate(proposal, execution));
    } catch (err) {
      if (!(err instanceof EvidenceError)) throw err;
      return refused({
        authentic: false,
        issues: [{ path: ['proposal'], code: err.code, message: issueText(err.message) }],
        message: `Invalid proposal: ${err.message}`,
      });
    }
    const who = { agent: authentic.agent.id, user: authentic.user, owners: authentic.agent.owners };
    const task = authentic.payload.task;
    if (!deps.registry.has(task)) {
      const message = `unknown task "${task}"; registered tasks: ${deps.registry.names().join(', ')}`;
      return refused({
        authentic: true,
        ...who,
        issues: [{ path: ['task'], code: 'unknown_task', message }],
        message: `Invalid proposal: ${message}.`,
      });
    }
    const parsed = timed('validate', () => deps.registry.get(task).inputSchema.safeParse(authentic.input));
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, MAX_ISSUES).map((issue) => ({
        path: ['input', ...issue.path.slice(0, 10).map((p) => (typeof p === 'number' ? p : String(p).slice(0, 64)))],
        code: issue.code,
        message: issueText(issue.message),
      }));
      const message = `Invalid proposal for ${task}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`;
      return refused({ authentic: true, ...who, issues, message: issueText(message) });
    }
    const p = evidence.interpret(authentic, parsed);
    // A task whose rules read its plan is planned before policy decides (read-only, as every plan), or decided on the
    // plan its interrupted execution recorded: never planned again against a target it may have changed.
    const plan = needsPlan(p) ? (begun ?? (await makePlan(p))) : undefined;
    const policy = await judge(p, execution, plan && planFactsOf(p, plan), plan?.hash);
    const people = policy.approvalsRequired > 0 ? [...deps.identities.people.values()] : undefined;
    const keys = people && Object.fromEntries(people.map((person) => [person.id, person.rawKey]));
    const passkeys =
      people &&
      Object.fromEntries(
        // The registry is looked at once (for the first person), then read as cached.
        people.flatMap((person, i) => {
          const held = deps.identities.passkeysOf(person.id, { fresh: i === 0 });
          return held.length ? [[person.id, held.map(({ cose: _c, ...credential }) => credential)]] : [];
        }),
      );
    return {
      ok: true,
      p,
      policy,
      ...(plan ? { plan } : {}),
      admission: {
        steps: TWO_TASK_STEPS,
        runId: execution.runId,
        ok: true,
        input: p.parsed,
        risk: p.task.risk,
        target: p.target,
        description: p.task.description,
        agent: p.agent.id,
        user: p.user,
        requester: p.requester,
        owners: p.agent.owners,
        excluded: p.excluded,
        policy,
        ...(keys ? { keys } : {}),
        ...(passkeys && Object.keys(passkeys).length ? { passkeys } : {}),
        // Whether this worker tells people anything: a run admitted with no channel schedules no notification.
        ...(people ? { notifies: Boolean(deps.notifications?.webhookUrl || deps.notifications?.email) } : {}),
      },
    };
  };

  /**
   * Carries out a plan whose evidence holds (checked by the caller): records the execution before anything is
   * minted (with the plan: the one it made for an action nobody approves, the approved one otherwise), then mints the
   * action's session, calls the target with the action id as the idempotency key, and reads the target back.
   */
  const carryOut = async (
    p: VerifiedProposal,
    policy: PolicyDecision,
    execution: Execution,
    planHash: string | undefined,
    approvers: string[],
    plan?: Plan,
    planFacts?: FactRecord,
  ): Promise<ExecutionResult> => {
    // Recorded before anything is minted: no effect goes unrecorded, whoever scheduled this and whatever follows.
    await recordNow('execution', execution, { task: p.task.name, status: 'executing', planHash }, [
      {
        kind: 'execution_started',
        summary: `executing for ${visible(p.requester)} (agent ${p.agent.id})${approvers.length ? `, approved by ${approvers.join(', ')} (plan ${String(planHash).slice(0, 12)})` : ', no approval needed'}`,
        data: {
          agent: p.agent.id,
          user: p.user,
          approvers,
          planHash,
          idempotencyKey: p.payload.actionId,
          policyIds: policy.policyIds,
          ...(plan ? { plan } : {}),
          // Which scheduling wrote it: a retry of that scheduling may trust it, no later one (see recordedExecutionOf).
          ...schedulingOf(),
        },
      },
    ]);
    // A counted action's reservation is given back once its run has ended without an execution record: a run ended
    // (terminated) while this attempt was on its way must not execute uncounted. Its record is written: from now on
    // the reservation is kept whatever happens to the run.
    if (p.task.usage && (await deps.ledger.ended(execution.workflowId, execution.runId)))
      throw new EvidenceError(
        'run_ended',
        `Action ${execution.workflowId} ended before its execution began; nothing was executed. Propose again if still needed.`,
      );
    return timed(
      'execute',
      () =>
        withSession(p, 'execute', policy.sessionSeconds, async (session) => {
          const output = await p.task.execute(p.parsed, taskContext(p.payload.actionId, session, planFacts));
          // What happened must be what was planned: read back with the plan's read-only grants only, never failing.
          const verification = await readBackAfter({
            task: p.task,
            input: p.parsed,
            ctx: { ...taskContext(p.payload.actionId, session), secrets: session.readSecrets ?? {} },
            plan,
            executed: output,
            clock: deps.clock,
          });
          return { output, credentials: session.record, idempotencyKey: p.payload.actionId, verification };
        }),
      p.task.name,
    );
  };

  type Admitted = Extract<Awaited<ReturnType<typeof admit>>, { ok: true }>;

  /**
   * The approved plan an earlier attempt of this scheduling of the execution recorded before it minted anything (so
   * after it checked the plan), when it is the one the approvals name: the record is the workers' own, and the plan
   * proves itself by its hash.
   */
  const recordedExecutionOf = async (
    execution: Execution,
    p: VerifiedProposal,
    planHash: string | undefined,
  ): Promise<Plan | undefined> => {
    if (!planHash) return undefined;
    const scheduling = schedulingOf();
    for (const record of await deps.auditLog.find(execution.workflowId, execution.runId, 'execution')) {
      if (record.planHash !== planHash) continue;
      const data = (record.events[0] as { data?: { plan?: Plan; activityId?: unknown; scheduledAt?: unknown } })?.data;
      // A later scheduling (a stranger's, perhaps, long after the target changed) checks the plan again.
      if (data?.activityId !== scheduling.activityId || data?.scheduledAt !== scheduling.scheduledAt) continue;
      if (data?.plan && planHasHash(p, data.plan, planHash)) return data.plan;
    }
    return undefined;
  };

  /** The plan this run's execution recorded when it began, if it began (no approval names its plan by hash). */
  const beganWith = async (execution: Execution): Promise<Plan | undefined> => {
    if (!(await deps.auditLog.has(execution.workflowId, execution.runId, 'execution'))) return undefined;
    const [record] = await deps.auditLog.find(execution.workflowId, execution.runId, 'execution');
    return (record?.events[0] as { data?: { plan?: Plan } } | undefined)?.data?.plan;
  };

  /**
   * Terraform's apply without a saved plan, for an action nobody has to approve: planned (or the plan its interrupted
   * execution recorded), carried out, and recorded from what this activity witnessed. Should the record fail, the
   * workflow has it written from history; the effect is not repeated for it.
   */
  const executeAtOnce = async (
    proposal: unknown,
    { p, policy, admission, plan: planned }: Admitted,
    execution: Execution,
    begun: Plan | undefined,
  ): Promise<Admission> => {
    const plan = begun ?? planned ?? (await makePlan(p));
    const t0 = deps.clock().getTime();
    const executed = await carryOut(p, policy, execution, undefined, [], plan, planFactsOf(p, plan));
    const ms = deps.clock().getTime() - t0;
    const audited = await timed('audit', () =>
      recordNow('final', execution, { task: p.task.name, status: 'succeeded' }, [
        proposedFact(proposal),
        ...admissionFacts({ ...admission, plan, executed }, ms),
        finishedFact({
          status: 'succeeded',
          executed: true,
          executionStarted: true,
          approvedBy: [],
          rejectedBy: [],
        }),
      ]).then(
        () => true,
        () => false,
      ),
    );
    if (audited) await settleUsage(p, execution);
    return { ...admission, plan, executed, audited };
  };

  /**
   * Admission's answer for an action that waits (for approvers, or as a dry run) or is refused: with its plan when
   * policy allows it (the one policy decided on, for a task whose rules read its plan; else one made within a budget:
   * a plan that fails or is slow here is made by planAction, with its retries and its own error), on the same evidence
   * planAction checks: allowed, and not too old to act on.
   */
  const admitOnly = async ({ p, policy, admission, plan: planned }: Admitted): Promise<Admission> => {
    const actionable = policy.decision === 'allow' && deps.clock().getTime() <= actionableUntil(p, policy);
    const plan = actionable ? (planned ?? (await withinBudget(makePlan(p), ADMISSION_PLAN_BUDGET_MS))) : undefined;
    return { ...admission, ...(plan ? { plan } : {}) };
  };

  /** Tells a counted task's ledger that this action ended (the ledger reads how from the audit log). */
  const settleUsage = async (p: { task: { name: string; usage?: unknown } }, execution: Execution) => {
    if (p.task.usage) await deps.ledger.settle(p.task.name, execution.workflowId);
  };

  const fail = (err: unknown): never => {
    throw toActivityFailure(err);
  };

  /**
   * The approved plan an earlier attempt left in its heartbeat, if it is the one whose hash the approvals name (anyone
   * polling the task queue can write heartbeat details; nobody can make another plan with that hash).
   */
  const approvedPlanIn = (
    left: { plan?: Plan } | undefined,
    p: VerifiedProposal,
    args: EvidenceArgs,
  ): Plan | undefined => {
    const plan = left?.plan;
    if (!plan || typeof plan !== 'object' || !args.planHash) return undefined;
    return planHasHash(p, plan, args.planHash) ? plan : undefined;
  };

  /** The body of `executeAction` (see there), with `beat` to set its heartbeat's details. */
  const executeNow = async (args: EvidenceArgs, beat: (details: unknown) => void): Promise<ExecuteOutcome> => {
    try {
      const { p, execution } = await authenticated(args);
      if (p.payload.dryRun) throw new EvidenceError('dry_run', 'The proposal is a dry run; it is never executed.');
      // Terraform's "saved plan is stale", for business APIs: what was approved must be what runs. Checked once per
      // execution: a retry after the target call must not see its own effect as a changed target, so the attempt
      // that checked says so in its heartbeat, with the approved plan's facts a retry decides on. (Should that
      // heartbeat be lost in a crash, the retry plans again and at worst asks for new approvals; it never acts twice.)
      const ctx = Context.current();
      const left = ctx.info.heartbeatDetails as
        { planChecked?: unknown; planFacts?: FactRecord; plan?: Plan } | undefined;
      const markFor = async (facts: FactRecord | undefined) =>
        planCheckedMark(await deps.workerKey(), execution, ctx.info, String(args.planHash), facts);
      const marked = Boolean(args.planHash) && sameSecret(left?.planChecked, await markFor(left?.planFacts));
      // An attempt that died after its execution record (heartbeats are throttled: its mark may never have reached
      // the server) checked this very plan before it wrote the record, which holds the plan: so did this one.
      const recorded = marked ? undefined : await recordedExecutionOf(execution, p, args.planHash);
      const checked = marked || recorded !== undefined;
      // A task whose rules read its plan is decided on a plan made now (or the one this scheduling checked).
      let fresh = needsPlan(p) && !checked ? await makePlan(p) : undefined;
      const planFacts = marked ? left?.planFacts : recorded ? planFactsOf(p, recorded) : fresh && planFactsOf(p, fresh);
      const policy = await allowed(p, execution, planFacts, fresh?.hash ?? args.planHash);
      if (fresh && args.planHash && fresh.hash !== args.planHash)
        return { kind: 'plan_changed', plan: fresh, approvalsRequired: policy.approvalsRequired, policy };
      let approvers: string[] = [];
      if (policy.approvalsRequired > 0) {
        approvers = await evidence.requireQuorum(p, policy, execution, args.planHash, deps.clock().getTime());
        if (!checked) {
          fresh ??= await makePlan(p);
          if (fresh.hash !== args.planHash)
            return { kind: 'plan_changed', plan: fresh, approvalsRequired: policy.approvalsRequired, policy };
          // With the approved plan, for a retry's read-back: it proves itself by its hash, not by where it was found.
          beat({ planChecked: await markFor(planFacts), ...(planFacts ? { planFacts } : {}), plan: fresh });
        }
      }
      const approved = !args.planHash
        ? undefined
        : fresh?.hash === args.planHash
          ? fresh
          : (recorded ?? (checked ? approvedPlanIn(left, p, args) : undefined));
      // The record holds the approved plan: what a retry after a crash carries out, without planning again.
      const result = await carryOut(p, policy, execution, args.planHash, approvers, approved, planFacts);
      return { kind: 'executed', result };
    } catch (err) {
      return fail(err);
    }
  };

  return {
    ...createLateDecisionActivities(deps, evidence),
    ...createNotifier({
      runs: deps.runs,
      identities: deps.identities,
      policy: deps.policy,
      registry: deps.registry,
      authenticate: evidence.authenticate,
      channels: deps.notifications ?? {},
      http: deps.http,
    }),

    /**
     * The action's first step: admits the proposal (the agent's signature, binding to this action and run, the first
     * of its id, freshness against the run's start, the task, the input, policy, which for a task whose rules read its
     * plan comes after the plan, and for a counted task after its reservation). Then, when policy allows it with no
     * approval, it plans it, carries the plan out and writes its audit record: an auto-approved action's whole work in
     * one activity, as a bare workflow's one activity. Otherwise it makes the plan for the approvers (within a budget:
     * the workflow's `planAction` takes over from a slow or failed one) and returns. Never throws for a proposal that
     * is refused: it says why, with an issue code per problem.
     *
     * A regular activity, since it may execute (and may therefore be scheduled by anyone, with anything): it trusts
     * no argument but the signed proposal, and asks Temporal when the run started and whether it is the first.
     */
    async admitAndExecute(args: { proposal: unknown }): Promise<Admission> {
      return withHeartbeats(async () => {
        try {
          const execution = currentExecution();
          // An execution this run already began (an attempt that died after its record, perhaps after the target call)
          // is finished with the plan it recorded, whatever the time: never planned again against a target it may have
          // changed, never left half done. Unless policy no longer lets it run alone: then it is not tried again.
          const begun = await beganWith(execution);
          // Whatever it is given (an undecodable proposal included) is refused by admission's own checks, as invalid.
          const admitted = await admit(args?.proposal, execution, begun);
          if (!admitted.ok) return admitted.admission;
          const { p, policy } = admitted;
          const runsAlone = policy.decision === 'allow' && policy.approvalsRequired === 0 && !p.payload.dryRun;
          if (begun && !runsAlone) throw new ExecutionInterruptedError(execution.workflowId);
          if (begun || (runsAlone && deps.clock().getTime() <= actionableUntil(p, policy)))
            return await executeAtOnce(args.proposal, admitted, execution, begun);
          return await admitOnly(admitted);
        } catch (err) {
          return fail(err);
        }
      });
    },

    /**
     * How runs begun by the previous version were admitted, kept for those still in their first workflow task across
     * the deploy (newer runs use `admitAndExecute`): admission and, within its budget, the plan; it never executes.
     * Only as a local activity of an action workflow.
     */
    async admitProposal(args: { proposal: unknown }): Promise<Admission> {
      try {
        if (!Context.current().info.isLocal)
          throw new EvidenceError('not_local', 'admitProposal runs only as a local activity of an action workflow.');
        const admitted = await admit(args?.proposal, currentExecution());
        return admitted.ok ? await admitOnly(admitted) : admitted.admission;
      } catch (err) {
        return fail(err);
      }
    },

    /**
     * Checks a signed decision against the approver's registered key and asks Cedar whether that approver may
     * approve this task (local activity, from the workflow's decision handler). The approval rules do the rest.
     */
    async verifyDecision(args: {
      signed: SignedDecision;
      task: string;
      risk: Risk;
      requester: string;
      agent: string;
    }): Promise<DecisionCheck> {
      try {
        const { nonceFresh: _n, ...facts } = await evidence.decisionFacts(args.signed, args);
        return facts;
      } catch (err) {
        return fail(err);
      }
    },

    /**
     * Dry run, on evidence: the proposal must be this run's and allowed (a dry run: previewable); a task whose rules
     * read its plan is planned first, then decided on. Changes nothing at the target.
     */
    async planAction(args: EvidenceArgs): Promise<Plan> {
      try {
        const { p, execution } = await authenticated(args);
        if (needsPlan(p)) {
          const plan = await makePlan(p);
          await allowed(p, execution, planFactsOf(p, plan), plan.hash);
          return plan;
        }
        await allowed(p, execution);
        return await makePlan(p);
      } catch (err) {
        return fail(err);
      }
    },

    /**
     * Carries out an approved plan, on evidence: the proposal, policy now, and where policy asks for approvals, a
     * quorum read back from this run's history for `planHash`. Then it plans again: if the target changed since the
     * approved plan, it returns the new plan (`plan_changed`) and executes nothing. Otherwise it mints the action's
     * credentials and calls the target with the action id as the idempotency key.
     */
    async executeAction(args: EvidenceArgs): Promise<ExecuteOutcome> {
      return withHeartbeats((beat) => executeNow(args, beat));
    },

    /**
     * How actions of a counted task ended, for its usage ledger, from the audit log (never from whoever asks): an
     * execution that began keeps the reservation, whatever the action's end (it may have had its effect: a target
     * that timed out after acting); a final record without one gives it back (denied, rejected, expired, a plan that
     * failed), as does a run that ended with no record at all (terminated before executing) and a reservation no
     * worker recorded (sent by someone else); otherwise the action is still running.
     */
    async settleUsage(args: {
      task: string;
      actions: { actionId: string; runId: string }[];
    }): Promise<Record<string, Settlement>> {
      try {
        const actions = (Array.isArray(args?.actions) ? args.actions : [])
          .slice(0, 100)
          .filter((a) => typeof a?.actionId === 'string' && typeof a.runId === 'string');
        const answers = await Promise.all(
          actions.map(async ({ actionId, runId }): Promise<[string, Settlement]> => {
            if (await deps.auditLog.has(actionId, runId, 'execution')) return [actionId, 'committed'];
            // No worker reserved it (a worker records a reservation before it makes it): someone else's message.
            if (!(await deps.auditLog.has(actionId, runId, 'reservation'))) return [actionId, 'released'];
            if (await deps.auditLog.ref(actionId, runId, 'final')) return [actionId, 'released'];
            return [actionId, (await deps.ledger.ended(actionId, runId)) ? 'released' : 'running'];
          }),
        );
        return Object.fromEntries(answers);
      } catch (err) {
        return fail(err);
      }
    },

    /**
     * What a counted task's ledger counts, from the audit log (each run of a ledger starts from it, never from what it
     * is handed): the task's window, and every reservation workers recorded for it (the largest amount of each action's
     * plans), except those given back: one whose execution began counts for the window from then; one with a final
     * record and no execution does not count; one still in flight counts, unless its run has ended meanwhile. Answers
     * with the caller's nonce, so that no old answer passes for this one.
     */
    async usageSince(args: { task: string; nonce: string }): Promise<{
      nonce: string;
      windowMs: number;
      entries: Omit<BookEntry, 'answered'>[];
    }> {
      try {
        const task = deps.registry.has(String(args?.task)) ? deps.registry.get(args.task) : undefined;
        if (!task?.usage)
          throw new EvidenceError(
            'bad_arguments',
            `usageSince takes a counted task; ${visible(String(args?.task))} is not one.`,
          );
        const windowMs = parseDurationSeconds(task.usage.window, task.name) * 1000;
        const now = deps.clock().getTime();
        const reserved = new Map<string, Omit<BookEntry, 'answered'>>();
        const executed = new Map<string, number>();
        const finished = new Set<string>();
        for (const record of await deps.auditLog.read()) {
          const key = `${record.actionId} ${record.runId}`;
          if (record.kind === 'execution' && !executed.has(key)) executed.set(key, Date.parse(record.recordedAt));
          else if ((record.kind ?? 'final') === 'final') finished.add(key);
          else if (record.kind === 'reservation' && record.task === task.name) {
            const r = (record.events[0] as { data?: Reservation } | undefined)?.data;
            if (!r || !Number.isSafeInteger(r.amount)) continue;
            const known = reserved.get(key);
            if (known) known.amount = Math.max(known.amount, r.amount);
            else
              reserved.set(key, {
                actionId: record.actionId,
                runId: record.runId,
                agent: r.agent,
                requester: r.requester,
                amount: r.amount,
                reservedAt: Date.parse(record.recordedAt),
              });
          }
        }
        const entries: Omit<BookEntry, 'answered'>[] = [];
        const inFlight: Omit<BookEntry, 'answered'>[] = [];
        for (const [key, entry] of reserved) {
          const began = executed.get(key);
          if (began !== undefined) {
            if (now - began < windowMs) entries.push({ ...entry, committedAt: began });
          } else if (!finished.has(key)) inFlight.push(entry);
        }
        // In flight for a while: still so only if its run has not ended (a terminated run leaves no final record).
        const stale = inFlight.filter((e) => now - e.reservedAt > SWEEP_AFTER_MS);
        const gone = new Set<string>();
        for (let i = 0; i < stale.length; i += 50)
          await Promise.all(
            stale.slice(i, i + 50).map(async (e) => {
              if (await deps.ledger.ended(e.actionId, e.runId)) gone.add(e.actionId);
            }),
          );
        entries.push(...inFlight.filter((e) => !gone.has(e.actionId)));
        return { nonce: String(args.nonce), windowMs, entries };
      } catch (err) {
        return fail(err);
      }
    },

    /**
     * Appends the finished action's audit record, derived from evidence (never taken from the caller): the run's
     * history, whose proposal must verify, and the audit log's own execution record. The outcome the workflow gives
     * must be final and agree with both (and with the last status history holds, if that is final); approvals are
     * listed only if they verify again. Keyed by action and run; a retry never writes a second record.
     *
     * Run as a local activity in the workflow task that ends the action (the workflow does so only when history
     * already holds everything else), or as a regular one.
     */
    async recordAudit(args: unknown): Promise<{ seq: number; hash: string }> {
      return timed('audit', () => writeAudit(args));
    },
  };

  /** The body of `recordAudit`. */
  async function writeAudit(args: unknown): Promise<{ seq: number; hash: string }> {
    try {
      const parsed = RecordAuditArgsSchema.safeParse(args);
      if (!parsed.success)
        throw new EvidenceError(
          'bad_arguments',
          `recordAudit takes the final status and the refusal counts: ${z.prettifyError(parsed.error)}`,
        );
      const noted = parsed.data;
      const execution = currentExecution();
      const history = await deps.runs.events(execution.workflowId, execution.runId);
      const started = history[0]?.workflowExecutionStartedEventAttributes;
      const proposal = await deps.runs.decode(started?.input?.payloads?.[0]);
      const authentic = await evidence.authenticate(proposal, execution);
      const events = await describeHistory(history, deps.runs.decode);
      const written = events
        .filter((e) => e.kind === 'status_changed')
        .map((e) => (e.data as { status: string }).status)
        .at(-1);
      const status = noted.status ?? written ?? '';
      if (!AUDITED_OUTCOMES.has(status))
        throw new EvidenceError(
          'not_finished',
          `The action is "${visible(status)}", not finished; only a finished action is recorded.`,
        );
      if (written && AUDITED_OUTCOMES.has(written) && written !== status)
        throw new EvidenceError(
          'outcome_mismatch',
          `The action ended "${visible(written)}" in its history, not "${visible(status)}"; the record would not be true.`,
        );
      const executedInHistory = events.some((e) => e.kind === 'executed');
      // An execution that started and then did not finish as "executed" (a failure, a lost attempt whose retry found
      // the target changed) is recorded with its outcome; a success needs both proofs, and an executed history a success.
      const executionStarted = await deps.auditLog.has(execution.workflowId, execution.runId, 'execution');
      if (
        (status === 'succeeded' && !(executionStarted && executedInHistory)) ||
        (executedInHistory && status !== 'succeeded')
      ) {
        throw new EvidenceError(
          'outcome_mismatch',
          `The action's status is "${status}", but ${executionStarted ? 'the audit log records an execution' : 'the audit log records no execution'} and its history shows it ${executedInHistory ? 'executed' : 'did not execute'}; the record would not be true.`,
        );
      }
      // The events already read: the history is fetched once.
      const decided = await evidence.verifiedDecisions(
        authentic,
        execution,
        await decisionsIn(history, deps.runs.decode),
      );
      const approvedBy = [
        ...new Set(
          decided.filter((d) => d.valid && d.acceptedByWorkflow && d.decision === 'approve').map((d) => d.approver),
        ),
      ];
      const rejectedBy = decided.filter((d) => d.valid && d.decision === 'reject').map((d) => d.approver);
      events.push({
        at: deps.clock().toISOString(),
        eventId: 0,
        ...finishedFact({
          status,
          executed: executedInHistory,
          executionStarted,
          approvedBy,
          rejectedBy,
          refusedBeforeHistory: noted.refusedBeforeHistory,
          refusalsNotKept: noted.refusalsNotKept,
        }),
      });
      const record = await deps.auditLog.append({
        kind: 'final',
        actionId: execution.workflowId,
        runId: execution.runId,
        task: authentic.payload.task,
        status,
        recordedAt: deps.clock().toISOString(),
        events,
      });
      if (deps.registry.has(authentic.payload.task))
        await settleUsage({ task: deps.registry.get(authentic.payload.task) }, execution);
      return { seq: record.seq, hash: record.hash };
    } catch (err) {
      return fail(err);
    }
  }
}

/** The activities, as the workflow sees them (`import type` only). */
export type AirlockActivities = ReturnType<typeof createActivities>;
