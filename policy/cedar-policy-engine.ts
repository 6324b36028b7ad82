import { randomUUID } from 'node:crypto';
import type { NotificationPolicy } from '../common/notification-schedule';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { ConfigError, PolicyEvaluationError } from '../common/errors';
import { parseDurationSeconds } from '../common/durations';
import { approvalForm, holdsAt, type ApprovalForm } from './approval-thresholds';
import type { UsageSnapshot } from '../common/usage-book';
import type { PolicyDecision } from '../common/types';
import type { Risk } from '../common/statuses';
import { DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS } from '../common/session-limits';
import { canonicalPersonId } from '../common/identifiers';
import type { FactType, FactValue } from '../tasks/define-task';

const NS = 'Airlock';
/** The most approvals policy can ask for; a proposal no number up to this allows is denied. */
export const MAX_APPROVALS = 5;
/** Approval timeout when no permitting policy sets `@approval_timeout`. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 24 * 60 * 60;

/** What policy is asked about a proposal. */
export interface ProposalQuery {
  agent: string;
  user?: string;
  task: string;
  risk: Risk;
  target: string;
  /** The task's facts about this input (`context.facts`); none when the task declares none. */
  facts?: Record<string, FactValue>;
  /** The task's facts about this input's plan (`context.plan`), for a task that declares them. */
  plan?: Record<string, FactValue>;
  /** What this agent, this requester and anyone did of this task recently (`context.recent`), for a counted task. */
  recent?: RecentUsage;
}

/** A counted task's recent actions, as policy reads them: `context.recent.agent.total`, ... */
export type RecentUsage = UsageSnapshot;

/** A task as policy sees it: its name (its Cedar action), the types of its facts, and whether it is counted. */
export interface TaskPolicyShape {
  name: string;
  facts?: Record<string, FactType>;
  planFacts?: Record<string, FactType>;
  /** Whether Airlock counts the task's actions (`context.recent`). */
  counted?: boolean;
}

/** What policy is asked about an approver. */
export interface ApproverQuery {
  approver: string;
  task: string;
  risk: Risk;
  requester: string;
  agent: string;
}

type Uid = { type: string; id: string };
const uid = (type: string, id: string): Uid => ({ type: `${NS}::${type}`, id });
const ref = (type: string, id: string) => ({ __entity: uid(type, id) });

/**
 * The policies in `dir` as a worker loads them: each registered task's action with its facts, and the registered
 * people and agents as Cedar entities. The worker, `airlock policy test` and the benchmark load them so.
 */
export function loadPolicies(
  dir: string,
  registry: { policyShapes(): TaskPolicyShape[] },
  identities: {
    people: ReadonlyMap<string, { id: string; groups: string[] }>;
    agents: ReadonlyMap<string, { id: string }>;
  },
): CedarPolicyEngine {
  return CedarPolicyEngine.load(
    dir,
    registry.policyShapes(),
    [...identities.people.values()].map((p) => ({ name: p.id, groups: p.groups })),
    [...identities.agents.values()].map((a) => ({ name: a.id })),
  );
}

/**
 * Cedar policies, schema and entities, loaded and validated once per worker.
 * Each policy needs an `@id`; the ids name policies in decisions and in the audit.
 */
export class CedarPolicyEngine {
  /** The policy set, parsed once into Cedar's cache: a decision sends the request, never the policies' text. */
  private readonly policySetId = `airlock-${randomUUID()}`;
  /** The enforced policies with the log-only ones (`@mode("shadow")`), when there are any: their would-be verdict. */
  private readonly shadowSetId: string | undefined;
  /**
   * For each action (each task, `preview`, `approve`), the policies whose scope can match it, parsed once: Cedar
   * copies a request's whole policy set, so a request carries only those that could apply (the decisions are the
   * same: a policy whose scope does not match is not applicable). With shadow policies, their sets too.
   */
  private readonly setsByAction = new Map<
    string,
    { enforced: string; shadow?: string; enforcedBases?: string; shadowBases?: string }
  >();
  private readonly eligibleBy = new Map<string, string[]>();
  /** The enforced policies' text by id: what {@link mayEverAllow} evaluates partially. */
  private readonly enforcedTexts: Record<string, string>;
  /** Whether a policy names a target literally, so a request's target id could matter to {@link mayEverAllow}. */
  private targetsNamed?: boolean;
  /** Every fact any policy (shadow ones too) reads; undefined when requests carry every fact. */
  private readonly needed: ReadonlySet<string> | undefined;
  private readonly byKey: Map<string, cedar.EntityJson>;
  /** Every entity a policy's conditions name literally, with its ancestors: sent with every request. */
  private readonly named: cedar.EntityJson[];

  private constructor(
    /** Each policy's effect (`permit`, `forbid`), by id, in file order. */
    private readonly effects: Record<string, string>,
    policies: Record<string, string>,
    private readonly annotations: Record<string, Record<string, string>>,
    /** The facts each policy's conditions read (`facts.x`, `plan.y`, `recent.agent.total`), by policy id. */
    private readonly reads: Record<string, string[]>,
    /** Each policy's action scope: which actions it can apply to (a forbid that did not fire decided too). */
    private readonly scopes: Record<string, (action: string, isTask: boolean) => boolean>,
    tasks: readonly string[],
    split: boolean,
    /** Each policy's approval tests and base, where it has the usual form (see {@link approvalForm}). */
    private readonly forms: Record<string, ApprovalForm>,
    private readonly entities: cedar.EntityJson[],
    literals: readonly string[],
    private readonly slicing: boolean,
    trimming: boolean,
  ) {
    const enforced = Object.fromEntries(Object.entries(policies).filter(([id]) => !isShadow(annotations[id])));
    this.enforcedTexts = enforced;
    const needed = new Set(Object.values(reads).flat());
    this.needed = trimming && !needed.has('*') ? needed : undefined;
    const parsed = cedar.preparsePolicySet(this.policySetId, { staticPolicies: enforced });
    if (parsed.type !== 'success')
      throw new ConfigError(`policies.cedar could not be parsed: ${messages(parsed.errors)}`);
    const shadowing = Object.keys(enforced).length < Object.keys(policies).length;
    if (shadowing) {
      this.shadowSetId = `${this.policySetId}-shadow`;
      const all = cedar.preparsePolicySet(this.shadowSetId, { staticPolicies: policies });
      if (all.type !== 'success') throw new ConfigError(`policies.cedar could not be parsed: ${messages(all.errors)}`);
    }
    const preparse = (setId: string, from: Record<string, string>, action: string, isTask: boolean) => {
      const applicable = Object.fromEntries(Object.entries(from).filter(([id]) => scopes[id](action, isTask)));
      const answer = cedar.preparsePolicySet(setId, { staticPolicies: applicable });
      if (answer.type !== 'success')
        throw new ConfigError(`policies.cedar could not be parsed: ${messages(answer.errors)}`);
      return setId;
    };
    /** The bases of an action's policies, as permits (one evaluation for every number of approvals), if all have one. */
    const preparseBases = (setId: string, from: Record<string, string>, action: string, isTask: boolean) => {
      const ids = Object.keys(from).filter((id) => scopes[id](action, isTask));
      if (!ids.every((id) => forms[id])) return undefined;
      const bases = Object.fromEntries(ids.map((id) => [id, forms[id].base]));
      const answer = cedar.preparsePolicySet(setId, { staticPolicies: bases });
      return answer.type === 'success' ? setId : undefined;
    };
    for (const [action, isTask] of split
      ? [...tasks.map((t) => [t, true] as const), ['preview', false] as const, ['approve', false] as const]
      : []) {
      this.setsByAction.set(action, {
        enforced: preparse(`${this.policySetId}:${action}`, enforced, action, isTask),
        ...(shadowing ? { shadow: preparse(`${this.policySetId}-shadow:${action}`, policies, action, isTask) } : {}),
        enforcedBases: preparseBases(`${this.policySetId}:${action}:bases`, enforced, action, isTask),
        ...(shadowing
          ? { shadowBases: preparseBases(`${this.policySetId}-shadow:${action}:bases`, policies, action, isTask) }
          : {}),
      });
    }
    this.byKey = new Map(entities.map((e) => [keyOf(e.uid), e]));
    this.named = this.closure(literals, new Set());
  }

  /**
   * Loads `policies.cedar`, `airlock.cedarschema` and `entities.json` from `dir`, adds one action per task to the
   * schema (its context `ProposeContext` with the task's own `facts`, so that strict validation refuses a policy that
   * reads a fact the task does not have), one `User` entity per registered person (members of their groups, by
   * canonical id) and one `Agent` entity per registered agent, and validates it all.
   * @throws ConfigError naming the file and the problem when anything does not parse or validate.
   */
  static load(
    dir: string,
    tasks: readonly (string | TaskPolicyShape)[],
    people: readonly { name: string; groups: string[] }[] = [],
    agents: readonly { name: string }[] = [],
    options: {
      /**
       * Send each request only the entities it can reach (the default); `false` sends every entity, as a reference
       * the sliced decisions are tested against.
       */
      entitySlicing?: boolean;
      /**
       * Send each request only the facts some policy reads (the default); `false` sends every fact, as a reference
       * the trimmed decisions are tested against.
       */
      contextTrimming?: boolean;
      /**
       * Give each action its own policy set, of the policies that can apply to it (the default); `false` evaluates
       * every request against every policy, as a reference the split decisions are tested against.
       */
      splitByAction?: boolean;
      /**
       * Decide the number of approvals with one evaluation where every policy of the action tests
       * `context.approvals` only in the usual form (the default); `false` asks once per number, as a reference.
       */
      approvalsInOnePass?: boolean;
    } = {},
  ): CedarPolicyEngine {
    const read = (file: string) => {
      try {
        return readFileSync(join(dir, file), 'utf8');
      } catch (err) {
        throw new ConfigError(`Cannot read policy file ${join(dir, file)}: ${(err as Error).message}`);
      }
    };
    const schemaAnswer = cedar.schemaToJson(read('airlock.cedarschema'));
    if (schemaAnswer.type !== 'success') {
      throw new ConfigError(`airlock.cedarschema does not parse: ${messages(schemaAnswer.errors)}`);
    }
    const schema = schemaAnswer.json;
    const ns = schema[NS];
    if (!ns) throw new ConfigError(`airlock.cedarschema must declare namespace ${NS}.`);
    const proposeContext = ns.commonTypes?.ProposeContext as { type: string; attributes?: object } | undefined;
    if (proposeContext?.type !== 'Record' || !proposeContext.attributes)
      throw new ConfigError('airlock.cedarschema must declare the record type ProposeContext.');
    const shapes = tasks.map((t) => (typeof t === 'string' ? { name: t } : t));
    const taskNames = shapes.map((t) => t.name);
    for (const task of shapes) {
      ns.actions[task.name] = {
        // Every task is in the action group "task", so a policy can speak of all tasks at once (and not previews).
        memberOf: [{ id: 'task' }],
        appliesTo: {
          principalTypes: ['Agent'],
          resourceTypes: ['Target'],
          context: {
            type: 'Record',
            attributes: {
              ...(proposeContext.attributes as Record<string, cedar.TypeOfAttribute<string>>),
              facts: { type: 'Record', attributes: factTypes(task.facts) },
              plan: { type: 'Record', attributes: factTypes(task.planFacts) },
              ...(task.counted ? { recent: RECENT_TYPE } : {}),
            },
          },
        },
      };
    }

    const policyText = read('policies.cedar');
    const parts = cedar.policySetTextToParts(policyText);
    if (parts.type !== 'success') throw new ConfigError(`policies.cedar does not parse: ${messages(parts.errors)}`);
    const policies: Record<string, string> = {};
    const annotations: Record<string, Record<string, string>> = {};
    const reads: Record<string, string[]> = {};
    const scopes: Record<string, (action: string, isTask: boolean) => boolean> = {};
    const forms: Record<string, ApprovalForm> = {};
    const effects: Record<string, string> = {};
    const literals = new Set<string>();
    for (const text of parts.policies) {
      const json = cedar.policyToJson(text);
      if (json.type !== 'success') throw new ConfigError(`policies.cedar: ${messages(json.errors)}`);
      // The scope needs only the request's own entities and their ancestors; a condition may read any entity.
      entityLiterals(json.json.conditions, literals);
      const id = json.json.annotations?.id;
      if (!id)
        throw new ConfigError(
          `policies.cedar: every policy needs an @id("...") annotation; this one has none:\n${text}`,
        );
      if (policies[id]) throw new ConfigError(`policies.cedar: two policies have @id("${id}"); ids must be unique.`);
      policies[id] = text;
      reads[id] = [...contextReads(json.json.conditions, new Set())].sort();
      scopes[id] = actionScope(json.json.action);
      const form = approvalForm(json.json);
      if (form) forms[id] = form;
      effects[id] = json.json.effect;
      annotations[id] = json.json.annotations ?? {};
      const mode = annotations[id].mode;
      if (mode !== undefined && mode !== 'shadow' && mode !== 'enforce')
        throw new ConfigError(`policy ${id}: @mode("${mode}") is not a mode; write @mode("shadow") or leave it out.`);
      if (annotations[id].approval_timeout) parseDurationSeconds(annotations[id].approval_timeout, `policy ${id}`);
      checkNotificationAnnotations(id, annotations[id]);
      if (annotations[id].session_duration) {
        const seconds = parseDurationSeconds(annotations[id].session_duration, `policy ${id}`);
        if (seconds < DEFAULT_SESSION_SECONDS || seconds > MAX_SESSION_SECONDS) {
          throw new ConfigError(
            `policy ${id}: @session_duration must be between 15m and 1h (STS minimum, Airlock maximum).`,
          );
        }
      }
    }

    const validation = cedar.validate({
      schema,
      policies: { staticPolicies: policies },
      validationSettings: { mode: 'strict' },
    });
    if (validation.type !== 'success')
      throw new ConfigError(`Policies do not validate: ${messages(validation.errors)}`);
    if (validation.validationErrors.length) {
      throw new ConfigError(
        'Policies do not validate against the schema: ' +
          validation.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`).join('; '),
      );
    }

    let entities: cedar.EntityJson[];
    try {
      entities = JSON.parse(read('entities.json')) as cedar.EntityJson[];
    } catch (err) {
      throw new ConfigError(`entities.json is not valid JSON: ${(err as Error).message}`);
    }
    const listed = new Set(entities.map((e) => `${entityType(e)}::${entityId(e)}`));
    for (const person of people) {
      const id = canonicalPersonId(person.name);
      if (listed.has(`${NS}::User::${id}`)) {
        throw new ConfigError(
          `User ${id} is in both entities.json and the approvers file; keep people in the approvers file only.`,
        );
      }
      entities.push({ uid: uid('User', id), attrs: {}, parents: person.groups.map((g) => uid('Group', g)) });
    }
    for (const agent of agents) {
      const id = canonicalPersonId(agent.name);
      if (listed.has(`${NS}::Agent::${id}`)) {
        throw new ConfigError(
          `Agent ${id} is in both entities.json and the agents file; keep agents in the agents file only.`,
        );
      }
      entities.push({ uid: uid('Agent', id), attrs: {}, parents: [] });
    }
    const parsed = cedar.checkParseEntities({ entities, schema });
    // Action groups live in the schema; requests are evaluated without it, so each task's action is also an entity
    // whose parent is the group: `action in Airlock::Action::"task"` must hold for every task.
    for (const task of taskNames)
      entities.push({ uid: uid('Action', task), attrs: {}, parents: [uid('Action', 'task')] });
    if (parsed.type !== 'success')
      throw new ConfigError(`entities.json does not match the schema: ${messages(parsed.errors)}`);
    // Cedar gives the policies in no fixed order: described in the order the file has them.
    const at = (id: string) => policyText.indexOf(`"${id}"`);
    return new CedarPolicyEngine(
      Object.fromEntries(Object.entries(effects).sort(([a], [b]) => at(a) - at(b))),
      policies,
      annotations,
      reads,
      scopes,
      taskNames,
      options.splitByAction !== false,
      options.approvalsInOnePass === false ? {} : forms,
      entities,
      [...literals],
      options.entitySlicing ?? true,
      options.contextTrimming ?? true,
    );
  }

  /**
   * Decides a proposal: denied, or allowed with the least number of approvals policy accepts. Says which policies
   * decided (the permits, and the forbids that refused it with fewer approvals) and which facts they read.
   */
  decideProposal(q: ProposalQuery): PolicyDecision {
    const enforced = this.decideIn(false, q);
    if (!this.shadowSetId) return enforced;
    const would = this.decideIn(true, q);
    return {
      ...enforced,
      shadow: {
        decision: would.decision,
        approvalsRequired: would.approvalsRequired,
        policyIds: [...new Set([...would.policyIds, ...(would.raisedBy ?? [])])].sort(),
        differs: would.decision !== enforced.decision || would.approvalsRequired !== enforced.approvalsRequired,
      },
    };
  }

  /** The groups some loaded policy escalates to (`@escalate_to`): the only groups a notification may go to. */
  escalationGroups(): ReadonlySet<string> {
    this.escalatesTo ??= new Set(
      Object.values(this.annotations)
        .map((a) => a.escalate_to)
        .filter((g): g is string => Boolean(g)),
    );
    return this.escalatesTo;
  }
  private escalatesTo?: Set<string>;

  /** The ids of the log-only policies (`@mode("shadow")`): evaluated beside the others, never enforced. */

  shadowPolicies(): string[] {
    return Object.keys(this.annotations).filter((id) => isShadow(this.annotations[id]));
  }

  private decideIn(shadow: boolean, q: ProposalQuery): PolicyDecision {
    const resource = { uid: uid('Target', q.target), attrs: { task: q.task, risk: q.risk }, parents: [] };
    const at =
      this.inOnePass(q, resource, shadow) ??
      ((n: number) =>
        this.authorize(uid('Agent', q.agent), uid('Action', q.task), resource, this.contextOf(q, n), shadow));
    let lastDeny: string[] = [];
    for (let approvals = 0; approvals <= MAX_APPROVALS; approvals++) {
      const response = at(approvals);
      if (response.decision === 'allow') {
        const raisedBy = approvals ? lastDeny : [];
        const annotated = (name: string) =>
          response.diagnostics.reason
            .map((id) => this.annotations[id]?.[name])
            .filter((t): t is string => Boolean(t))
            .map((t) => parseDurationSeconds(t, name));
        const timeouts = annotated('approval_timeout');
        const sessions = annotated('session_duration');
        const notifications = approvals ? this.notificationsOf(response.diagnostics.reason) : undefined;
        const eligibleApprovers = approvals ? this.eligible(q) : [];
        return {
          decision: 'allow',
          approvalsRequired: approvals,
          policyIds: response.diagnostics.reason,
          ...(raisedBy.length ? { raisedBy } : {}),
          ...this.factsRead([...response.diagnostics.reason, ...this.forbidsOf(q.task, shadow)], q),
          approvalTimeoutSeconds: timeouts.length ? Math.min(...timeouts) : DEFAULT_APPROVAL_TIMEOUT_SECONDS,
          sessionSeconds: sessions.length ? Math.min(...sessions) : DEFAULT_SESSION_SECONDS,
          eligibleApprovers,
          ...(notifications ? { notifications } : {}),
          explanation: approvals
            ? `Allowed after ${approvals} distinct approval${approvals > 1 ? 's' : ''}${raisedBy.length ? ` (${raisedBy.join(', ')})` : ''} by ${eligibleApprovers.join(', ') || 'nobody (no user may approve this task: fix the policy)'}.`
            : 'Allowed without approval.',
        };
      }
      if (approvals === 0 || response.diagnostics.reason.length) lastDeny = response.diagnostics.reason;
    }
    const actor = q.user ? `agent ${q.agent} acting for user ${q.user}` : `agent ${q.agent} acting for no user`;
    return {
      decision: 'deny',
      approvalsRequired: 0,
      policyIds: lastDeny,
      ...this.factsRead(lastDeny.length ? lastDeny : this.forbidsOf(q.task, shadow), q),
      approvalTimeoutSeconds: 0,
      sessionSeconds: 0,
      eligibleApprovers: [],
      explanation: lastDeny.length
        ? `Denied for ${actor} by ${lastDeny.join(', ')}.`
        : `Denied: no policy permits ${actor} to run ${q.task}, with any number of approvals. Ask an administrator to add a policy if this should be allowed.`,
    };
  }

  /**
   * The decision at any number of approvals from one evaluation, where the action's policies allow it: its policies'
   * bases (all as permits) are evaluated once, and a policy applies with `n` approvals when its base did and its
   * tests hold for `n`; exactly what asking Cedar once per number answers (a property test checks it). Undefined
   * where they do not, or where a base fails to evaluate (asking per number then says which policy, and whether it
   * matters at that number).
   */
  private inOnePass(
    q: ProposalQuery,
    resource: cedar.EntityJson,
    shadow: boolean,
  ): ((n: number) => Pick<cedar.Response, 'decision'> & { diagnostics: { reason: string[] } }) | undefined {
    const sets = this.setsByAction.get(q.task);
    const setId = shadow ? sets?.shadowBases : sets?.enforcedBases;
    if (!setId) return undefined;
    const answer = this.evaluate(setId, uid('Agent', q.agent), uid('Action', q.task), resource, this.contextOf(q, 0));
    if (answer.type !== 'success' || answer.response.diagnostics.errors.length) return undefined;
    const applying = answer.response.diagnostics.reason;
    return (n) => {
      const holding = applying.filter((id) => holdsAt(this.forms[id].tests, n));
      const forbids = holding.filter((id) => this.effects[id] === 'forbid').sort();
      const permits = holding.filter((id) => this.effects[id] === 'permit').sort();
      return forbids.length || !permits.length
        ? { decision: 'deny', diagnostics: { reason: forbids } }
        : { decision: 'allow', diagnostics: { reason: permits } };
    };
  }

  /** A proposal's request context at one number of approvals: with only the facts some policy reads. */
  private contextOf(q: ProposalQuery, approvals: number): cedar.Context {
    const { needed } = this;
    const part = (scope: string, value: object) =>
      (needed ? neededPart(scope, value, needed) : value) as cedar.CedarValueJson;
    const context: cedar.Context = { approvals, facts: part('facts', q.facts ?? {}), plan: part('plan', q.plan ?? {}) };
    if (q.recent) context.recent = part('recent', q.recent);
    if (q.user) context.user = ref('User', q.user);
    return context;
  }

  /** The facts `policyIds` read, with the values this query gave them (`facts.x`, `plan.y`, `recent.agent.total`). */
  private factsRead(policyIds: readonly string[], q: ProposalQuery): { factsUsed?: Record<string, FactValue> } {
    const used: Record<string, FactValue> = {};
    const scopes = { facts: q.facts, plan: q.plan, recent: q.recent } as Record<string, unknown>;
    for (const path of new Set(policyIds.flatMap((id) => this.reads[id] ?? []))) {
      const value = path
        .split('.')
        .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], scopes);
      if (value !== undefined) used[path] = value as FactValue;
    }
    return Object.keys(used).length ? { factsUsed: used } : {};
  }

  /**
   * The people policy lets approve a proposal, asked once per task, risk, requester and agent: the policies and the
   * people never change under a loaded engine, and asking each person is most of a decision's cost.
   */
  private eligible(q: ProposalQuery): string[] {
    const key = JSON.stringify([q.task, q.risk, q.user ?? q.agent, q.agent]);
    let people = this.eligibleBy.get(key);
    if (!people) {
      people = this.users().filter(
        (u) =>
          this.canApprove({ approver: u, task: q.task, risk: q.risk, requester: q.user ?? q.agent, agent: q.agent })
            .permitted,
      );
      if (this.eligibleBy.size >= 10_000) this.eligibleBy.clear();
      this.eligibleBy.set(key, people);
    }
    return [...people];
  }

  /**
   * Whom to remind and escalate to, from the permitting policies' annotations: the most frequent reminder and the
   * earliest escalation win (a policy that asks for more attention gets it).
   */
  private notificationsOf(permitting: readonly string[]): NotificationPolicy | undefined {
    const of = (name: string) =>
      permitting.map((id) => this.annotations[id]?.[name]).filter((t): t is string => Boolean(t));
    const reminds = of('remind').map((t) => parseDurationSeconds(t, 'remind'));
    const escalations = permitting
      .filter((id) => this.annotations[id]?.escalate_to)
      .map((id) => ({
        to: this.annotations[id].escalate_to,
        after: parseDurationSeconds(this.annotations[id].escalate_after, 'escalate_after'),
      }))
      .sort((a, b) => a.after - b.after);
    const out: NotificationPolicy = {
      ...(reminds.length ? { remindEverySeconds: Math.min(...reminds) } : {}),
      ...(escalations.length ? { escalateTo: escalations[0].to, escalateAfterSeconds: escalations[0].after } : {}),
    };
    return Object.keys(out).length ? out : undefined;
  }

  /** The forbids that apply to a task's action: each decision on it is theirs too, fired or not. */
  private forbidsOf(task: string, shadow: boolean): string[] {
    return Object.keys(this.scopes).filter(
      (id) =>
        this.effects[id] === 'forbid' && this.scopes[id](task, true) && (shadow || !isShadow(this.annotations[id])),
    );
  }

  /** The loaded policies, in file order: id, effect, whether log-only, and the facts each reads. */
  describePolicies(): { id: string; effect: string; shadow: boolean; reads: readonly string[] }[] {
    return Object.keys(this.effects).map((id) => ({
      id,
      effect: this.effects[id],
      shadow: isShadow(this.annotations[id]),
      reads: this.reads[id] ?? [],
    }));
  }

  /** The facts a policy reads, by id (empty for an unknown id). */
  factsReadBy(policyId: string): readonly string[] {
    return this.reads[policyId] ?? [];
  }

  /**
   * Whether policy lets this agent, for this user, preview this task: make a plan (which reads current values at
   * the target) without executing. A dry run needs this, not the task's own permission.
   */
  canPreview(q: ProposalQuery): { permitted: boolean; policyIds: string[] } {
    const resource = { uid: uid('Target', q.target), attrs: { task: q.task, risk: q.risk }, parents: [] };
    const context: cedar.Context = {};
    if (q.user) context.user = ref('User', q.user);
    const response = this.authorize(uid('Agent', q.agent), uid('Action', 'preview'), resource, context);
    return { permitted: response.decision === 'allow', policyIds: response.diagnostics.reason };
  }

  /**
   * Whether any proposal of this task by this agent, for this user (or none), could ever be allowed (`preview`: any
   * preview of it): Cedar evaluates the enforced policies partially, with the approvals, facts, plan facts and usage
   * unknown, and only a definite deny says never. It must not say never of a proposal policy could allow (the MCP
   * server hides such tasks from the agent); saying maybe of one policy always denies only shows a tool that is then
   * denied. The target's id is unknown too, unless no policy and no entity names a target (then the target's task and
   * risk are given, and its id cannot matter).
   */
  mayEverAllow(q: { agent: string; user?: string; task: string; risk: Risk; preview?: boolean }): boolean {
    const unknown = (name: string) => ({ __extn: { fn: 'unknown', arg: name } }) as unknown as cedar.CedarValueJson;
    const context: cedar.Context = q.preview
      ? {}
      : { approvals: unknown('approvals'), facts: unknown('facts'), plan: unknown('plan'), recent: unknown('recent') };
    if (q.user) context.user = ref('User', q.user);
    // A target may be named in a policy, or held by an entity a policy reads (an allow-list kept as data).
    this.targetsNamed ??= (() => {
      const named = new Set<string>();
      for (const text of Object.values(this.enforcedTexts)) {
        const json = cedar.policyToJson(text);
        if (json.type !== 'success') return true;
        entityLiterals(json.json, named);
      }
      for (const entity of this.entities) entityLiterals([entity.attrs, entity.parents ?? []], named);
      return [...named].some((key) => key.startsWith(`${NS}::Target::`));
    })();
    const resource = this.targetsNamed
      ? undefined
      : { uid: uid('Target', '(any target)'), attrs: { task: q.task, risk: q.risk }, parents: [] };
    const action = uid('Action', q.preview ? 'preview' : q.task);
    const answer = cedar.isAuthorizedPartial({
      principal: uid('Agent', q.agent),
      action,
      resource: resource?.uid ?? null,
      context,
      policies: { staticPolicies: this.enforcedTexts },
      entities: [...this.entities, ...(resource ? [resource] : [])],
    });
    if (answer.type !== 'residuals')
      throw new PolicyEvaluationError(`Cedar could not evaluate the policies partially: ${messages(answer.errors)}`);
    return answer.response.decision !== 'deny';
  }

  /** Whether policy lets this user approve this task. */
  canApprove(q: ApproverQuery): { permitted: boolean; policyIds: string[] } {
    const resource = { uid: uid('Task', q.task), attrs: { risk: q.risk }, parents: [] };
    const response = this.authorize(uid('User', q.approver), uid('Action', 'approve'), resource, {
      requester: q.requester,
      agent: ref('Agent', q.agent),
    });
    return { permitted: response.decision === 'allow', policyIds: response.diagnostics.reason };
  }

  /**
   * The entities a request can reach: its principal, action and the entities its context names, every entity a
   * policy's conditions name, and, from each, its ancestors and the entities its attributes hold. Cedar reads nothing
   * else (a request's resource is built per request and has no parents), and converting an entity into Cedar costs
   * about as much as evaluating the policies, so a request carries only these; the result is the same as with every
   * entity (tested against it).
   */
  private slice(principal: Uid, action: Uid, context: cedar.Context): cedar.EntityJson[] {
    if (!this.slicing) return this.entities;
    const seen = new Set(this.named.map((e) => keyOf(e.uid)));
    const roots = new Set([keyOf(principal), keyOf(action)]);
    entityLiterals(context, roots);
    return [...this.named, ...this.closure([...roots], seen)];
  }

  /** The entities of `keys` and their ancestors, except those in `seen` (which it adds to). */
  private closure(keys: readonly string[], seen: Set<string>): cedar.EntityJson[] {
    const out: cedar.EntityJson[] = [];
    const queue = [...keys];
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      if (seen.has(key)) continue;
      seen.add(key);
      const entity = this.byKey.get(key);
      if (!entity) continue;
      out.push(entity);
      for (const parent of entity.parents ?? []) queue.push(keyOf(parent));
      // An attribute may hold an entity (a manager, an owner) that a policy then reads or tests membership of.
      const held = new Set<string>();
      entityLiterals(entity.attrs, held);
      queue.push(...held);
    }
    return out;
  }

  private users(): string[] {
    return this.entities.filter((e) => entityType(e) === `${NS}::User`).map((e) => entityId(e));
  }

  /** One Cedar evaluation of a request against a preparsed set, with the entities it can reach. */
  private evaluate(
    setId: string,
    principal: Uid,
    action: Uid,
    resource: cedar.EntityJson,
    context: cedar.Context,
  ): cedar.AuthorizationAnswer {
    return cedar.statefulIsAuthorized({
      principal,
      action,
      resource: resource.uid,
      context,
      preparsedPolicySetId: setId,
      entities: [...this.slice(principal, action, context), resource],
    });
  }

  private authorize(
    principal: Uid,
    action: Uid,
    resource: cedar.EntityJson,
    context: cedar.Context,
    shadow = false,
  ): cedar.Response {
    const sets = this.setsByAction.get(action.id);
    const setId =
      (shadow ? sets?.shadow : sets?.enforced) ?? (shadow ? this.shadowSetId : undefined) ?? this.policySetId;
    const answer = this.evaluate(setId, principal, action, resource, context);
    if (answer.type !== 'success')
      throw new PolicyEvaluationError(`Cedar could not evaluate the request: ${messages(answer.errors)}`);
    if (answer.response.diagnostics.errors.length) {
      // A policy that errors is skipped by Cedar; surface it, since it may be a permit or forbid that should apply.
      const detail = answer.response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ');
      throw new PolicyEvaluationError(`A policy failed to evaluate (${detail}). Fix the policy; nothing was decided.`);
    }
    // Cedar gives the determining policies as a set, in no fixed order: sorted, the same request reads the same.
    answer.response.diagnostics.reason.sort();
    return answer.response;
  }
}

/** A task's facts as the attributes of a Cedar record type (each required). */
function factTypes(facts: Record<string, FactType> = {}): Record<string, cedar.TypeOfAttribute<string>> {
  return Object.fromEntries(
    Object.entries(facts).map(([name, type]) => [
      name,
      type === 'Set<String>'
        ? { type: 'Set', element: { type: 'EntityOrCommon', name: 'String' } }
        : { type: 'EntityOrCommon', name: type },
    ]),
  );
}

/** A group name in `@escalate_to`: as groups are written in the approvers file. */
const GROUP_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a policy's notification annotations: `@remind("2h")`, and `@escalate_to("group")`
 * only with `@escalate_after("8h")`, and the other way round. Throws ConfigError naming the policy.
 */
function checkNotificationAnnotations(id: string, a: Record<string, string>): void {
  if (a.remind !== undefined && parseDurationSeconds(a.remind, `policy ${id} @remind`) < 1)
    throw new ConfigError(`policy ${id}: @remind("${a.remind}") must be at least 1s.`);
  if ((a.escalate_to === undefined) !== (a.escalate_after === undefined))
    throw new ConfigError(
      `policy ${id}: @escalate_to and @escalate_after go together: whom to tell, and after how long (e.g. @escalate_to("leads") @escalate_after("8h")).`,
    );
  if (a.escalate_to !== undefined && !GROUP_NAME.test(a.escalate_to))
    throw new ConfigError(`policy ${id}: @escalate_to("${a.escalate_to}") is not a group name.`);
  if (a.escalate_after !== undefined) parseDurationSeconds(a.escalate_after, `policy ${id} @escalate_after`);
}

/** Whether a policy is log-only: evaluated and recorded beside the enforced decision, never enforced. */
function isShadow(annotations: Record<string, string> | undefined): boolean {
  return annotations?.mode === 'shadow';
}

const FIGURES: cedar.TypeOfAttribute<string> = {
  type: 'Record',
  attributes: { count: { type: 'EntityOrCommon', name: 'Long' }, total: { type: 'EntityOrCommon', name: 'Long' } },
};
/** `context.recent` of a counted task: this agent's, this requester's and everyone's actions of it in its window. */
const RECENT_TYPE: cedar.TypeOfAttribute<string> = {
  type: 'Record',
  attributes: { agent: FIGURES, user: FIGURES, task: FIGURES },
};

/**
 * Which actions a policy's action scope can match: all; the actions it names (`==`, or `in` one or a list, each
 * itself included); and, when it names the group `task`, every task (not `preview` nor `approve`, which are in no
 * group). Anything else it might say counts as all, so a policy is never left out of a request it could apply to.
 */
function actionScope(scope: unknown): (action: string, isTask: boolean) => boolean {
  const s = scope as { op?: string; entity?: { id?: string }; entities?: { id?: string }[] } | undefined;
  if (!s || (s.op !== '==' && s.op !== 'in')) return () => true;
  const ids = new Set([s.entity?.id, ...(s.entities ?? []).map((e) => e.id)].filter(Boolean));
  if (!ids.size) return () => true;
  return (action, isTask) => ids.has(action) || (isTask && ids.has('task'));
}

/** A `context.a.b...` attribute path in a policy's JSON, as `a.b...`; undefined for anything else. */
function contextPath(node: unknown): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const o = node as Record<string, unknown>;
  if (o.Var === 'context') return '';
  const access = (o['.'] ?? o.has) as { left?: unknown; attr?: string } | undefined;
  if (!access || typeof access.attr !== 'string') return undefined;
  const left = contextPath(access.left);
  return left === undefined ? undefined : left ? `${left}.${access.attr}` : access.attr;
}

/**
 * The facts (`facts.x`, `plan.x`, `recent.scope.figure`) a policy's conditions read, into `out`: a record read whole
 * (`context.plan`, `context.recent.agent`) as its own path, and the context itself read whole as `*`.
 */
function contextReads(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) contextReads(item, out);
    return out;
  }
  if (!node || typeof node !== 'object') return out;
  const path = contextPath(node);
  if (path !== undefined) {
    const parts = path.split('.');
    const depth = parts[0] === 'recent' ? 3 : parts[0] === 'facts' || parts[0] === 'plan' ? 2 : 0;
    if (path === '') out.add('*');
    else if (depth) out.add(parts.slice(0, depth).join('.'));
    return out;
  }
  for (const value of Object.values(node)) contextReads(value, out);
  return out;
}

/**
 * The part of `value` (the request's `facts`, `plan` or `recent`) that some policy reads, given every path any policy
 * reads (`needed`): an attribute no policy reads cannot change a decision, and each one sent costs its conversion
 * into Cedar. A record read whole is sent whole.
 */
function neededPart(scope: string, value: object, needed: ReadonlySet<string>): Record<string, unknown> {
  if (needed.has(scope)) return value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const path = `${scope}.${key}`;
    if (needed.has(path)) out[key] = v;
    else if (scope === 'recent' && v && typeof v === 'object') {
      const part = neededPart(path, v as object, needed);
      if (Object.keys(part).length) out[key] = part;
    }
  }
  return out;
}

/** `Type::"id"` of an entity uid, in either of Cedar's JSON forms. */
function keyOf(u: cedar.EntityUidJson | Uid): string {
  const { type, id } = '__entity' in u ? u.__entity : (u as Uid);
  return `${type}::${JSON.stringify(id)}`;
}

/** Every entity uid written literally in a policy (its JSON form), into `out`. */
function entityLiterals(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) entityLiterals(item, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (typeof o.type === 'string' && typeof o.id === 'string') out.add(keyOf(o as Uid));
  for (const value of Object.values(o)) entityLiterals(value, out);
}

function entityType(e: cedar.EntityJson): string {
  return '__entity' in e.uid ? e.uid.__entity.type : e.uid.type;
}
function entityId(e: cedar.EntityJson): string {
  return '__entity' in e.uid ? e.uid.__entity.id : e.uid.id;
}
function messages(errors: { message: string }[]): string {
  return errors.map((e) => e.message).join('; ');
}
