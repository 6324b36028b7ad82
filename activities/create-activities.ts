import type { STSClient } from '@aws-sdk/client-sts';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { toActivityFailure } from '../common/errors';
import type { ActionRequest, ActionState, ApprovalRefusalCode, ExecutionResult, InputIssue, Plan, PolicyDecision, SignedDecision } from '../common/types';
import type { Risk } from '../common/statuses';
import type { SessionCredentials, TaskContext, TaskDefinition } from '../tasks/define-task';
import type { TaskRegistry } from '../tasks/task-registry';
import type { CedarPolicyEngine, ProposalQuery } from '../lib/cedar-policy-engine';
import type { AwsSettings } from '../lib/runtime-config';
import type { ApproverRegistry } from '../lib/approvers-config';
import type { JsonlAuditLog } from '../lib/audit-log';
import type { AuditEvent } from '../client/audit-trail';
import { verifyPayload } from '../lib/approver-keys';
import { sha256Canonical } from '../lib/canonical-json';
import { diffValues } from '../lib/diff';
import { redact, redactError } from '../lib/redact';
import { mintSession, type MintedSession } from './mint-session';

/** Everything the activities depend on; tests and the worker build it, nothing is global. */
export interface ActivityDeps {
  /** STS client with the worker's own identity (the only one that may assume task roles). */
  sts: STSClient;
  /** Builds a Secrets Manager client for one minted session. */
  secrets: (credentials: SessionCredentials) => SecretsManagerClient;
  /** HTTP client handed to tasks. */
  http: typeof fetch;
  /** Current time. */
  clock: () => Date;
  registry: TaskRegistry;
  policy: CedarPolicyEngine;
  aws: AwsSettings;
  /** Target base URLs by name. */
  endpoints: Record<string, string>;
  /** People who may sign decisions, with their public keys. */
  approvers: ApproverRegistry;
  /** The append-only audit log every finished action is recorded in. */
  auditLog: JsonlAuditLog;
  /** Reads an action's audit trail from its workflow history. */
  auditTrail: (actionId: string) => Promise<AuditEvent[]>;
}

/** What verifying a signed decision found. */
export type DecisionCheck =
  | { signatureValid: false; code: Extract<ApprovalRefusalCode, 'unknown_key' | 'bad_signature' | 'malformed'>; message: string }
  | { signatureValid: true; permitted: boolean; policyIds: string[] };

/** The result of validating a proposal. */
export type ValidationOutcome =
  | { ok: true; input: unknown; risk: Risk; target: string; description: string }
  | { ok: false; issues: InputIssue[]; message: string };

/** What the plan and execute activities are given: the action, never a credential. */
export interface ActionRef {
  actionId: string;
  task: string;
  /** The validated input. */
  input: unknown;
  requester: string;
  /** Session length policy granted (seconds); 900 when absent. */
  sessionSeconds?: number;
}

/** Who may be named as agent or user: what STS accepts as SourceIdentity, so it can carry into AWS. */
const PRINCIPAL_ID = /^[\w+=,.@-]{2,64}$/;

/**
 * Builds Airlock's activities from their dependencies.
 * Credentials are minted only inside `planAction` (read-only session) and `executeAction`; neither returns them.
 */
export function createActivities(deps: ActivityDeps) {
  const taskContext = (ref: ActionRef, session: MintedSession): TaskContext => ({
    actionId: ref.actionId,
    secrets: session.secrets,
    endpoints: deps.endpoints,
    fetch: deps.http,
    aws: { region: deps.aws.region, endpoint: deps.aws.endpoint, credentials: session.credentials },
  });

  /** Re-parses the input: activities must not trust what they are handed, even by their own workflow. */
  const parseInput = (task: TaskDefinition, input: unknown): unknown => task.inputSchema.parse(input);

  /** Runs `fn` with a minted session; whatever escapes has every sensitive string redacted. */
  const withSession = async <T>(ref: ActionRef, mode: 'plan' | 'execute', fn: (task: TaskDefinition, input: unknown, s: MintedSession) => Promise<T>): Promise<T> => {
    let sensitive: string[] = [];
    try {
      const task = deps.registry.get(ref.task);
      const input = parseInput(task, ref.input);
      const session = await mintSession(
        { sts: deps.sts, secretsClient: deps.secrets, aws: deps.aws, clock: deps.clock },
        { task, input, actionId: ref.actionId, requester: ref.requester, mode, durationSeconds: ref.sessionSeconds },
      );
      sensitive = session.sensitive;
      return redact(await fn(task, input, session), sensitive);
    } catch (err) {
      const clean = redactError(err, sensitive);
      throw toActivityFailure(clean);
    }
  };

  return {
    /** Checks the task name, the principals and the input; returns the normalised input or the issues. */
    async validateProposal(req: ActionRequest): Promise<ValidationOutcome> {
      const issues: InputIssue[] = [];
      if (!PRINCIPAL_ID.test(req.agent ?? '')) {
        issues.push({ path: ['agent'], code: 'invalid_agent', message: 'agent must be 2–64 of letters, digits, +=,.@_-' });
      }
      if (req.user !== undefined && !PRINCIPAL_ID.test(req.user)) {
        issues.push({ path: ['user'], code: 'invalid_user', message: 'user must be 2–64 of letters, digits, +=,.@_-' });
      }
      if (!deps.registry.has(req.task)) {
        const message = `unknown task "${req.task}"; registered tasks: ${deps.registry.names().join(', ')}`;
        issues.push({ path: ['task'], code: 'unknown_task', message });
        return { ok: false, issues, message: `Invalid proposal: ${message}.` };
      }
      const task = deps.registry.get(req.task);
      const parsed = task.inputSchema.safeParse(req.input);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          issues.push({
            path: ['input', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
            code: issue.code,
            message: issue.message,
          });
        }
      }
      if (issues.length || !parsed.success) {
        const message = `Invalid proposal for ${req.task}: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`;
        return { ok: false, issues, message };
      }
      return { ok: true, input: parsed.data, risk: task.risk, target: task.target(parsed.data), description: task.description };
    },

    /** Asks Cedar whether this agent, for this user, may run this task, and with how many approvals. */
    async decidePolicy(q: ProposalQuery): Promise<PolicyDecision> {
      try {
        return deps.policy.decideProposal(q);
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    /**
     * Verifies a signed decision against the approver's registered key, then asks Cedar whether that approver may
     * approve this task. The workflow checks the rest (action, run, plan hash, nonce, freshness, self-approval).
     */
    async verifyDecision(args: { signed: SignedDecision; task: string; risk: Risk; requester: string; agent: string }): Promise<DecisionCheck> {
      const { payload, signature } = args.signed ?? ({} as SignedDecision);
      if (!payload || typeof payload !== 'object' || typeof signature !== 'string') {
        return { signatureValid: false, code: 'malformed', message: 'A decision needs a payload and a signature; sign it with `airlock approve`.' };
      }
      const approver = deps.approvers.get(String(payload.approver));
      if (!approver) {
        return {
          signatureValid: false,
          code: 'unknown_key',
          message: `No public key is registered for "${String(payload.approver)}". Create one with \`airlock keys new\` and have it added to the approvers file.`,
        };
      }
      if (!verifyPayload(payload, signature, approver.publicKey)) {
        return {
          signatureValid: false,
          code: 'bad_signature',
          message: `The signature does not verify against ${approver.name}'s registered key: the decision was altered, or signed with another key.`,
        };
      }
      try {
        const auth = deps.policy.canApprove({ approver: approver.name, task: args.task, risk: args.risk, requester: args.requester, agent: args.agent });
        return { signatureValid: true, ...auth };
      } catch (err) {
        throw toActivityFailure(err);
      }
    },

    /**
     * Appends the finished action's audit record (its history's events, and the outcome) to the audit log, which
     * outlives the namespace's history retention. Idempotent by action id: a retry never writes a second record.
     */
    async recordAudit(state: ActionState): Promise<{ seq: number; hash: string }> {
      const events = await deps.auditTrail(state.id);
      events.push({
        at: state.updatedAt,
        eventId: 0,
        kind: 'finished',
        summary: `finished: ${state.status}${state.error ? ` — ${state.error.message}` : ''}`,
        data: { status: state.status, error: state.error, approvedBy: state.approvedBy },
      });
      const record = await deps.auditLog.append({
        actionId: state.id,
        runId: state.runId,
        task: state.task,
        status: state.status,
        recordedAt: deps.clock().toISOString(),
        events,
      });
      return { seq: record.seq, hash: record.hash };
    },

    /** Dry run with a read-only session: reads current state and returns the plan, hashed. Changes nothing. */
    async planAction(ref: ActionRef): Promise<Plan> {
      return withSession(ref, 'plan', async (task, input, session) => {
        const draft = await task.plan(input, taskContext(ref, session));
        const body = {
          task: task.name,
          input,
          target: task.target(input),
          summary: draft.summary,
          sideEffects: draft.sideEffects,
          before: draft.before,
          after: draft.after,
          diff: draft.diff ?? diffValues(draft.before, draft.after),
        };
        const { task: _t, input: _i, ...plan } = body;
        return { ...plan, hash: sha256Canonical(body), plannedAt: deps.clock().toISOString() };
      });
    },

    /**
     * Carries out an approved plan: mints the action's credentials, calls the target with the action id as the
     * idempotency key, and returns the redacted response. Must be the only place credentials for writes exist.
     */
    async executeAction(ref: ActionRef): Promise<ExecutionResult> {
      return withSession(ref, 'execute', async (task, input, session) => {
        const output = await task.execute(input, taskContext(ref, session));
        return { output, credentials: session.record, idempotencyKey: ref.actionId };
      });
    },
  };
}

/** The activities, as the workflow sees them (`import type` only). */
export type AirlockActivities = ReturnType<typeof createActivities>;

