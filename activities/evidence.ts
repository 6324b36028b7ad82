import { createHash } from 'node:crypto';
import {
  EVIDENCE_CLOCK_SLACK_MS,
  checkDecisionShape,
  checkQuorum,
  counterAdvances,
  judgeDecision,
  type DecisionFacts,
  type PasskeyUse,
  type RecordedDecision,
} from '../common/approval-rules';
import { parsePasskeySignature } from '../common/webauthn-assertion';
import { verifyPasskeyPayload } from '../crypto/verify-passkey';
import { EvidenceError, TaskDefinitionError } from '../common/errors';
import { canonicalPersonId, parseSigningTime } from '../common/identifiers';
import { PROPOSAL_FRESHNESS_MS, checkProposalShape } from '../common/proposal';
import type { PolicyDecision, ProposalPayload, SignedDecision } from '../common/types';
import type { Risk } from '../common/statuses';
import { canonicalJson } from '../common/canonical-json';
import type { CedarPolicyEngine } from '../policy/cedar-policy-engine';
import type { Agent, Identities } from '../config/identities';
import type { HistoryDecision, RunHistory } from '../audit/run-history';
import { verifyPayload } from '../crypto/signing-keys';
import { factsProblem, type FactValue, type PlanBody, type TaskDefinition } from '../tasks/define-task';
import type { UsageSnapshot } from '../common/usage-book';
import type { TaskRegistry } from '../tasks/task-registry';

/** The workflow run an activity was scheduled by, as Temporal's server reports it (not as any argument claims). */
export interface Execution {
  workflowId: string;
  runId: string;
}

/** A proposal whose signature, binding and freshness were checked: who, for whom, what. */
export interface AuthenticProposal {
  payload: ProposalPayload;
  input: unknown;
  agent: Agent;
  /** The user's canonical id. */
  user?: string;
  /** The user, else the agent. */
  requester: string;
  /** Who may not decide on it: the user and the agent's owners. */
  excluded: string[];
  signedAt: number;
}

/** An authentic proposal whose task is registered and whose input parses. */
export interface VerifiedProposal extends AuthenticProposal {
  task: TaskDefinition;
  /** The input as the task's schema normalised it. */
  parsed: unknown;
  target: string;
}

/** What the evidence checks need. */
export interface EvidenceDeps {
  identities: Identities;
  policy: CedarPolicyEngine;
  registry: TaskRegistry;
  runs: RunHistory;
}

/** sha-256 (hex) of the canonical JSON of an input: what an agent signs instead of the input itself. */
export function inputDigest(input: unknown): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

/**
 * The evidence chain every activity checks before it acts, whoever scheduled it: the agent's signed proposal,
 * bound to the very run that is asking; policy re-evaluated on it; and, where policy asks, the approvals read back
 * from that run's history. Each check throws {@link EvidenceError} naming what is missing.
 */
export function createEvidence(deps: EvidenceDeps) {
  /**
   * Checks that `value` is a proposal signed by a registered agent, for this action id, that this run is the first
   * of its action id, and that it started within {@link PROPOSAL_FRESHNESS_MS} of the proposal's signing (so a
   * proposal replayed once old runs have left visibility is stale all the same). The run's start and its place among
   * its id's runs come from Temporal, never from an argument.
   */
  async function authenticate(value: unknown, execution: Execution): Promise<AuthenticProposal> {
    const shape = checkProposalShape(value);
    if (!shape.ok) throw new EvidenceError(shape.code, shape.message);
    const { payload, input, signature } = shape.proposal;
    const agent = deps.identities.agents.get(canonicalPersonId(payload.agent));
    if (!agent) {
      throw new EvidenceError(
        'unknown_agent',
        `No agent "${payload.agent}" is registered. Create its key with \`airlock keys new ${payload.agent}\` and add it to the agents file.`,
      );
    }
    if (!verifyPayload('airlock.proposal.v1', payload, signature, agent.publicKey)) {
      throw new EvidenceError(
        'proposal_bad_signature',
        `The proposal's signature does not verify against ${agent.id}'s registered key: it was altered, or signed with another key.`,
      );
    }
    if (inputDigest(input) !== payload.inputDigest) {
      throw new EvidenceError(
        'proposal_bad_signature',
        'The input is not the one the agent signed (its digest differs).',
      );
    }
    if (payload.actionId !== execution.workflowId) {
      throw new EvidenceError(
        'proposal_wrong_action',
        `The proposal was signed for action ${payload.actionId}, not for ${execution.workflowId}.`,
      );
    }
    const run = await deps.runs.runStart(execution.workflowId, execution.runId);
    if (!run.first) {
      throw new EvidenceError(
        'proposal_replayed',
        `Action ${execution.workflowId} already ran; a proposal runs once. Propose again for a new action.`,
      );
    }
    const signedAt = parseSigningTime(payload.time) as number;
    const { startedAt } = run;
    if (Math.abs(startedAt - signedAt) > PROPOSAL_FRESHNESS_MS) {
      throw new EvidenceError(
        'proposal_stale',
        `The proposal was signed at ${payload.time}, more than 5 minutes from the start of its action (${new Date(startedAt).toISOString()}); propose again (and check the agent's clock).`,
      );
    }
    const user = payload.user === undefined ? undefined : canonicalPersonId(payload.user);
    return {
      payload,
      input,
      agent,
      user,
      requester: user ?? agent.id,
      excluded: [...new Set([...(user ? [user] : []), ...agent.owners])],
      signedAt,
    };
  }

  /**
   * The task and the parsed input of an authentic proposal; refuses an unknown task or an input that does not parse.
   * `parsed`, when the caller has already parsed the input with the task's schema (admission, to list its issues),
   * is not parsed again.
   */
  function interpret(p: AuthenticProposal, parsed?: { data: unknown }): VerifiedProposal {
    if (!deps.registry.has(p.payload.task))
      throw new EvidenceError('unknown_task', `Task ${p.payload.task} is not registered.`);
    const task = deps.registry.get(p.payload.task);
    const input = parsed ? { success: true as const, data: parsed.data } : task.inputSchema.safeParse(p.input);
    if (!input.success) throw new EvidenceError('invalid_input', `The input does not parse as ${task.name}'s input.`);
    return { ...p, task, parsed: input.data, target: task.target(input.data) };
  }

  /**
   * Decisions already taken, by request: the policies are loaded once per worker and never change under it, so the
   * same request has the same answer; an action's admission, plan and execution ask the same one.
   */
  const decided = new Map<string, PolicyDecision>();

  /**
   * Policy on the proposal now: for a dry run, whether the agent may preview; otherwise the task's own decision, on
   * its input's facts and, for a task that declares them, its plan's facts and its recent usage (which the caller
   * must give: they come from a plan and the ledger).
   */
  function decide(p: VerifiedProposal, given: { planFacts?: FactRecord; recent?: UsageSnapshot } = {}): PolicyDecision {
    const facts = p.task.facts?.of(p.parsed);
    const acting = !p.payload.dryRun;
    if (acting && p.task.planFacts && !given.planFacts)
      throw new Error(`${p.task.name} decides on its plan's facts, and none were given.`);
    if (acting && p.task.usage && !given.recent)
      throw new Error(`${p.task.name} decides on its recent usage, and none was given.`);
    const planFacts = acting ? given.planFacts : undefined;
    const recent = acting ? given.recent : undefined;
    const key = JSON.stringify([
      p.agent.id,
      p.user,
      p.task.name,
      p.task.risk,
      p.target,
      p.payload.dryRun,
      facts,
      planFacts,
      recent,
    ]);
    let decision = decided.get(key);
    if (!decision) {
      decision = decideNow(p, facts, planFacts, recent);
      if (decided.size >= 10_000) decided.clear();
      decided.set(key, decision);
    }
    return structuredClone(decision);
  }

  function decideNow(
    p: VerifiedProposal,
    facts: FactRecord | undefined,
    planFacts: FactRecord | undefined,
    recent: UsageSnapshot | undefined,
  ): PolicyDecision {
    const query = { agent: p.agent.id, user: p.user, task: p.task.name, risk: p.task.risk, target: p.target };
    const preview = deps.policy.canPreview(query);
    // A real proposal is planned for its approvers whatever preview says; its plan is shown to the agent only if
    // the agent may preview, else proposing would be a way around the preview policy.
    if (!p.payload.dryRun)
      return {
        ...deps.policy.decideProposal({ ...query, facts, plan: planFacts, recent }),
        agentMayPreview: preview.permitted,
        ...(facts && Object.keys(facts).length ? { facts } : {}),
        ...(planFacts ? { planFacts } : {}),
        ...(recent ? { recent } : {}),
      };
    const actor = p.user ? `agent ${p.agent.id} acting for user ${p.user}` : `agent ${p.agent.id} acting for no user`;
    return preview.permitted
      ? {
          decision: 'allow',
          approvalsRequired: 0,
          policyIds: preview.policyIds,
          approvalTimeoutSeconds: 0,
          sessionSeconds: 900,
          eligibleApprovers: [],
          explanation: 'Preview allowed.',
          agentMayPreview: true,
        }
      : {
          decision: 'deny',
          approvalsRequired: 0,
          policyIds: preview.policyIds,
          approvalTimeoutSeconds: 0,
          sessionSeconds: 0,
          eligibleApprovers: [],
          explanation: `Denied: no policy permits ${actor} to preview ${p.task.name}. Ask an administrator for an Airlock::Action::"preview" permit if it should be allowed.`,
        };
  }

  /** What the registry and policy say of one decision: the approver's key, the signature, the permission. */
  async function decisionFacts(
    signed: SignedDecision,
    action: { task: string; risk: Risk; requester: string; agent: string },
  ): Promise<DecisionFacts & { policyIds: string[] }> {
    const person = deps.identities.people.get(canonicalPersonId(String(signed.payload?.approver ?? '')));
    if (!person) return { signatureValid: false, permitted: false, nonceFresh: true, policyIds: [] };
    let signatureValid: boolean;
    let passkey: PasskeyUse | undefined;
    const assertion = parsePasskeySignature(String(signed.signature));
    if (assertion) {
      // Checked against the registry as it is now, so a passkey enrolled while the action waited counts.
      const credential = deps.identities
        .passkeysOf(person.id, { fresh: true })
        .find((c) => c.id === assertion.credentialId);
      const verdict = credential
        ? await verifyPasskeyPayload('airlock.decision.v1', signed.payload, assertion, credential)
        : undefined;
      signatureValid = verdict?.valid === true;
      if (verdict?.valid && credential) {
        const { cose: _cose, ...registered } = credential;
        passkey = { credentialId: assertion.credentialId, counter: verdict.counter, credential: registered };
      }
    } else {
      signatureValid = verifyPayload('airlock.decision.v1', signed.payload, signed.signature, person.publicKey);
    }
    const auth = signatureValid
      ? deps.policy.canApprove({
          approver: person.id,
          task: action.task,
          risk: action.risk,
          requester: action.requester,
          agent: action.agent,
        })
      : { permitted: false, policyIds: [] };
    return {
      approverId: person.id,
      signatureValid,
      permitted: auth.permitted,
      nonceFresh: true,
      policyIds: auth.policyIds,
      ...(passkey ? { passkey } : {}),
    };
  }

  /**
   * A run's decisions of the right shape, with what the registry and policy say of each, for this task. A passkey's
   * counter must advance from one decision to the next in history order (the clone check the workflow made).
   */
  async function recorded(
    p: AuthenticProposal,
    task: TaskDefinition,
    history: readonly HistoryDecision[],
  ): Promise<RecordedDecision[]> {
    const action = { task: task.name, risk: task.risk, requester: p.requester, agent: p.agent.id };
    const counters = new Map<string, number>();
    const out: RecordedDecision[] = [];
    for (const d of history) {
      const shape = checkDecisionShape(d.signed);
      if (!shape.ok) continue;
      const facts: DecisionFacts = await decisionFacts(shape.signed, action);
      if (facts.passkey) {
        const { credentialId, counter } = facts.passkey;
        facts.counterAdvanced = counterAdvances(counters.get(credentialId), counter);
        counters.set(credentialId, Math.max(counter, counters.get(credentialId) ?? 0));
      }
      out.push({ signed: shape.signed, receivedAt: d.receivedAt, acceptedByWorkflow: d.acceptedByWorkflow, facts });
    }
    return out;
  }

  /**
   * The approvals policy asks for, read back from the run's history (never taken from the caller): throws unless a
   * quorum of valid approvals of `planHash` is there and no valid rejection is.
   */
  async function requireQuorum(
    p: VerifiedProposal,
    policy: PolicyDecision,
    execution: Execution,
    planHash: string | undefined,
    now: number,
  ): Promise<string[]> {
    if (!planHash)
      throw new EvidenceError(
        'no_plan_hash',
        `${policy.approvalsRequired} approval(s) are required, and no approved plan hash was given.`,
      );
    const check = checkQuorum({
      decisions: await recorded(p, p.task, await deps.runs.decisions(execution.workflowId, execution.runId)),
      actionId: execution.workflowId,
      runId: execution.runId,
      planHash,
      required: policy.approvalsRequired,
      excluded: p.excluded,
      windowMs: policy.approvalTimeoutSeconds * 1000,
      now,
    });
    if (!check.ok) throw new EvidenceError(check.code, check.message);
    return check.approvers;
  }

  /**
   * Each of a run's decisions with whether it holds up on its own: signed by a registered, permitted person other
   * than those excluded, for this action and run, fresh, with a reason if a rejection (whichever plan).
   */
  async function verifiedDecisions(
    p: AuthenticProposal,
    execution: Execution,
    history: readonly HistoryDecision[],
  ): Promise<{ approver: string; decision: string; acceptedByWorkflow: boolean; valid: boolean }[]> {
    if (!deps.registry.has(p.payload.task)) return [];
    return (await recorded(p, deps.registry.get(p.payload.task), history)).map((d) => {
      const { payload } = d.signed;
      const ballot = {
        actionId: execution.workflowId,
        runId: execution.runId,
        status: 'finished',
        deciding: true,
        planHash: payload.planHash,
        excluded: p.excluded,
        approvedBy: [],
        required: 1,
        slackMs: EVIDENCE_CLOCK_SLACK_MS,
      };
      return {
        approver: d.facts.approverId ?? payload.approver,
        decision: payload.decision,
        acceptedByWorkflow: d.acceptedByWorkflow,
        valid: judgeDecision(payload, d.facts, ballot, d.receivedAt).accepted,
      };
    });
  }

  return { authenticate, interpret, decide, decisionFacts, requireQuorum, verifiedDecisions };
}

/** Facts as policy reads them, by name. */
export type FactRecord = Record<string, FactValue>;

/**
 * The plan's facts of a task that declares them: of the plan's hashed body, so the facts of an approved plan are the
 * facts that were approved. A task whose facts do not match their declared types fails, naming the fact.
 */
export function planFactsOf(p: VerifiedProposal, plan: PlanBody): FactRecord | undefined {
  if (!p.task.planFacts) return undefined;
  const facts = p.task.planFacts.of(p.parsed, plan);
  const problem = factsProblem(p.task.planFacts.types, facts);
  if (problem) throw new TaskDefinitionError(`Task "${p.task.name}": the facts of its plan: ${problem}.`);
  return facts;
}

/** The value a counted task's ledger adds up for this action: its `usage.sum` fact. */
export function usageAmount(p: VerifiedProposal, planFacts: FactRecord | undefined): number {
  const name = p.task.usage?.sum ?? '';
  const value = p.task.facts?.of(p.parsed)[name] ?? planFacts?.[name];
  if (!Number.isSafeInteger(value))
    throw new TaskDefinitionError(`Task "${p.task.name}": its usage fact "${name}" is not a whole number here.`);
  return value as number;
}

/** The evidence checks, as built for one worker. */
export type Evidence = ReturnType<typeof createEvidence>;
