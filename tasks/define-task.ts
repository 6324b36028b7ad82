import { z } from 'zod';
import type { Risk } from '../common/statuses';
import { RISK_LEVELS } from '../common/statuses';
import { TaskDefinitionError } from '../common/errors';
import { parseDurationSeconds } from '../common/durations';

/** AWS credentials of one short-lived session, as STS returns them. Exists only inside an activity. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** What a task's `plan` and `execute` get. Everything here lives only inside one activity call. */
export interface TaskContext {
  /** The action id; `execute` sends it to the target as the idempotency key. */
  actionId: string;
  /** Secret values by the logical names the step declared, read with this action's own session. */
  secrets: Record<string, string>;
  /** Base URLs of target services by name (e.g. `demo-crm`), from the worker's configuration. */
  endpoints: Record<string, string>;
  /**
   * HTTP client; the worker's, so that tests and production share one code path. Each call is cut after
   * `callTimeoutMs`.
   */
  fetch: typeof fetch;
  /**
   * How long one call to the target may take before it is given up as a network failure (and retried, with the same
   * idempotency key): a hung target must not hold an execution until its activity times out.
   */
  callTimeoutMs?: number;
  /** This action's AWS session, for tasks whose target is an AWS API. */
  aws: { region: string; endpoint?: string; credentials: SessionCredentials };
  /**
   * In `execute`, for a task that declares plan facts: the facts of the plan being carried out, the ones policy
   * decided on. Execution must act on exactly them (a refund of "what remains" refunds the amount its plan found,
   * never what remains by then), so that what was approved and counted is what happens.
   */
  planFacts?: Record<string, FactValue>;
}

/** What a task's `plan` returns; Airlock adds the diff (unless given) and the hash. */
export interface PlanDraft {
  summary: string;
  sideEffects: string[];
  before: unknown;
  after: unknown;
  /** Override the field-by-field diff Airlock computes from before/after. */
  diff?: { path: string; op: 'add' | 'remove' | 'change'; before?: unknown; after?: unknown }[];
}

/** An IAM policy statement, as in a policy document. */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** What one step of a task (its plan, or its execution) may use. */
export interface StepCredentials<I> {
  /** Secrets the step reads, by logical name → Secrets Manager secret name. */
  secrets?: Record<string, string>;
  /**
   * Statements the step's session needs, built from the validated input: exact actions on exact resources, with
   * conditions that pin them further (say, to this input's recipient, or this action's own key).
   */
  statements?: (input: I, aws: { region: string; accountId: string; actionId: string }) => PolicyStatement[];
}

/** Where a task's AWS resources live: the worker's region and account. */
export interface AwsAccount {
  region: string;
  accountId: string;
}

/**
 * The IAM role a task acts through, and what it may do at most. Every session Airlock mints narrows it to one
 * action's step. The local stack creates it in moto from this; in production your infrastructure code creates it
 * with the same grants (`airlock tasks --provisioning <region>:<account>` prints them), trusting the
 * worker's identity.
 */
export interface TaskRole {
  /** Role name, in the worker's AWS account. Tasks may share a role only with identical grants. */
  name: string;
  description: string;
  /** The role's own policy: the ceiling of every session. Exact actions; resources as narrow as the task allows. */
  grants: (aws: AwsAccount) => PolicyStatement[];
}

/**
 * AWS resources the task's target needs to exist, beyond the role and the secrets its steps name: the local stack
 * creates them in moto; in production they are yours (the task documents them).
 */
export interface TaskProvisioning {
  /** DynamoDB tables (partition key only, a string). */
  tables?: { name: string; key: string }[];
  /** SES identities mail is sent from. */
  emailIdentities?: string[];
  /** Secrets whose values have a required shape: a prefix for the value the local stack generates. */
  secretFormats?: Record<string, { prefix: string; description?: string }>;
}

/**
 * How a task gets credentials: a role, and what each step may use within it. Airlock grants a step exactly what it
 * declares, nothing more; a step that declares nothing gets no session at all.
 */
export interface TaskCredentials<I> {
  /** The IAM role to assume (in the worker's AWS account), and what it may do at most. */
  role: TaskRole;
  /** The dry run: it must be able to read, and must not be able to change anything (read-only secrets and actions). */
  plan: StepCredentials<I>;
  /** The execution: what carrying out the approved plan needs. */
  execute: StepCredentials<I>;
}

/**
 * A policy fact's Cedar type. Numbers are `Long`: money in minor units, with its currency as a `String` fact beside it,
 * never a float.
 */
export type FactType = 'Long' | 'String' | 'Bool' | 'Set<String>';

/** A policy fact's value, as Cedar reads it. */
export type FactValue = number | string | boolean | string[];

/** Facts about a task's validated input that policy may read, as `context.facts.<name>`. */
export interface PolicyFacts<I> {
  /** Each fact's name (lowerCamelCase) and Cedar type: the task's Cedar action gets exactly these. */
  types: Record<string, FactType>;
  /** The facts of a validated input: every declared fact, of its type (checked on the task's examples at load). */
  of: (input: I) => Record<string, FactValue>;
  /** What each fact is, in a line, for the README's table of facts (generated from the registry). */
  descriptions: Record<string, string>;
}

/** The plan as plan facts read it: what Airlock hashes, so the facts of an approved plan are the facts approved. */
export interface PlanBody {
  summary: string;
  sideEffects: string[];
  before: unknown;
  after: unknown;
  diff: { path: string; op: 'add' | 'remove' | 'change'; before?: unknown; after?: unknown }[];
}

/**
 * Facts about a task's plan that policy may read, as `context.plan.<name>`: what the dry run found at the target (the
 * amount a refund without one would move, its currency, how many records change). A task that declares them is
 * planned before policy decides on it, and every decision on it (admission, execution) is made on its plan's facts.
 */
export interface PlanPolicyFacts<I> {
  types: Record<string, FactType>;
  /** The facts of a plan of a validated input: every declared fact, of its type (checked at each decision). */
  of: (input: I, plan: PlanBody) => Record<string, FactValue>;
  /** What each fact is, in a line, for the README's table of facts. */
  descriptions: Record<string, string>;
}

/**
 * What Airlock counts of a task, for limits over time: policy reads `context.recent.{agent,user,task}.{count,total}`,
 * this task's actions over `window` by this agent, by this requester and by anyone, with `total` the sum of the
 * `sum` fact. Actions still waiting or executing count too, so two proposals at once cannot both slip under a limit.
 */
export interface UsageCounting {
  /** A `Long` fact of the task (an input or a plan fact) whose values `total` adds up. */
  sum: string;
  /** How far back a finished action counts, e.g. `24h`. */
  window: string;
}

/**
 * How a task reads its target back after executing, so that what happened can be checked against what was planned
 * (Terraform's "inconsistent result after apply", for business APIs): `read`, or why the target cannot be read.
 */
export type ReadBack<I> =
  | {
      /**
       * Reads the target as it is now, in the shape of the plan's `after`; Airlock compares the two field by field.
       * It runs right after `execute`, in the execution's session with the plan step's grants only (its read-only
       * secrets and actions, in `ctx`): it must only read, and must not change anything. `executed` is what `execute`
       * returned (ids the target assigned). A read that fails or is slow leaves the execution unverified, never failed.
       */
      read: (input: I, ctx: TaskContext, executed: unknown) => Promise<unknown>;
      /**
       * Dotted paths of fields the target sets itself (ids, timestamps) that the plan cannot know: not compared.
       * Only what is named here is left out.
       */
      ignore?: string[];
    }
  | {
      /** Why the target cannot be read back (say, a sent email): recorded with every execution, in place of a check. */
      notReadable: string;
    };

/** Everything Airlock knows about one task. One file under `tasks/` defines one. */
export interface TaskDefinition<S extends z.ZodType = z.ZodType> {
  /** `area.verb_object`, e.g. `crm.add_note_to_customer`. */
  name: string;
  /** What the task does, for agents (MCP, tool definitions) and approvers. */
  description: string;
  risk: Risk;
  /** zod schema of the input. Unknown keys must be refused (`z.strictObject`). */
  inputSchema: S;
  /** Valid example inputs (at least one): shown to agents, and run through every task-wide test (least privilege…). */
  examples: z.input<S>[];
  /** The resource the action touches, from the validated input, e.g. `demo-crm:customer/C-1001`. */
  target: (input: z.output<S>) => string;
  /**
   * Fields of the plan's `before` and `after` (dotted paths, e.g. `email`, `value`) whose values agents must not see:
   * agent-facing views (the MCP server, `agentView`) mask them; approvers see them. The plan's summary and side
   * effects must not contain them.
   */
  hiddenFromAgents?: string[];
  /**
   * What a tool client may assume of running it twice or of what it changes (MCP's tool annotations): `destructive`
   * when it overwrites or removes state, or does what cannot be undone (a payment, an email); false when it only adds
   * (a note). `idempotent` when running it again with the same input changes nothing more (setting a value). When
   * left out, MCP's own defaults: destructive, not idempotent. Airlock's approvals apply either way.
   */
  toolHints?: { destructive?: boolean; idempotent?: boolean };
  /**
   * Input fields whose values must never leave Airlock in a notification (webhook or email): a summary that quotes
   * one is sent with it masked. (They are still shown to approvers in the inbox and the CLI.)
   */
  sensitive?: string[];
  /**
   * Facts about the input that policy may read (`context.facts`), typed in Cedar: say, the domain an email goes to,
   * or which fields a change touches. A policy naming a fact the task does not declare fails the worker's start.
   */
  facts?: PolicyFacts<z.output<S>>;
  /** Facts about the plan that policy may read (`context.plan`); see {@link PlanPolicyFacts}. */
  planFacts?: PlanPolicyFacts<z.output<S>>;
  /** What Airlock counts of this task for limits over time (`context.recent`); see {@link UsageCounting}. */
  usage?: UsageCounting;
  credentials: TaskCredentials<z.output<S>>;
  /** What else the target account needs for this task (see {@link TaskProvisioning}). */
  provisioning?: TaskProvisioning;
  /**
   * Dry run: reads current state and says what would change.
   * Must not change anything at the target.
   */
  plan: (input: z.output<S>, ctx: TaskContext) => Promise<PlanDraft>;
  /**
   * Carries out the approved plan.
   * Must send `ctx.actionId` as the target's idempotency key, so a retry never acts twice.
   */
  execute: (input: z.output<S>, ctx: TaskContext) => Promise<unknown>;
  /**
   * After `execute`: how the target is read again and checked against the plan's `after` (see {@link ReadBack}).
   * Without it, every execution is recorded as not readable.
   */
  readBack?: ReadBack<z.output<S>>;
}

const TASK_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/**
 * Declares a task. Checks the definition's shape at load time, so a malformed task fails the worker's start,
 * not an approver's afternoon.
 */
export function defineTask<S extends z.ZodType>(def: TaskDefinition<S>): TaskDefinition<S> {
  if (!TASK_NAME.test(def.name)) {
    throw new TaskDefinitionError(
      `Task name "${def.name}" is not of the form area.verb_object (lowercase, dot-separated, e.g. crm.add_note).`,
    );
  }
  if (!RISK_LEVELS.includes(def.risk)) {
    throw new TaskDefinitionError(`Task "${def.name}" has risk "${def.risk}"; use one of ${RISK_LEVELS.join(', ')}.`);
  }
  if (!def.description.trim()) {
    throw new TaskDefinitionError(`Task "${def.name}" needs a description: agents and approvers read it.`);
  }
  if (!def.examples?.length) {
    throw new TaskDefinitionError(
      `Task "${def.name}" needs at least one example input: agents learn from it, and the task-wide tests run it.`,
    );
  }
  for (const [name, type] of [
    ...Object.entries(def.facts?.types ?? {}),
    ...Object.entries(def.planFacts?.types ?? {}),
  ]) {
    if (!FACT_NAME.test(name) || !FACT_TYPES.includes(type))
      throw new TaskDefinitionError(
        `Task "${def.name}": fact "${name}" of type "${type}": a fact's name is lowerCamelCase and its type one of ${FACT_TYPES.join(', ')}.`,
      );
  }
  for (const facts of [def.facts, def.planFacts]) {
    if (!facts) continue;
    const [declared, described] = [Object.keys(facts.types).sort(), Object.keys(facts.descriptions ?? {}).sort()];
    if (declared.join() !== described.join())
      throw new TaskDefinitionError(
        `Task "${def.name}": describe each fact in a line (descriptions), no more and no less: facts ${declared.join(', ')}; described ${described.join(', ') || 'none'}.`,
      );
  }
  if (def.readBack && 'notReadable' in def.readBack && !def.readBack.notReadable.trim()) {
    throw new TaskDefinitionError(
      `Task "${def.name}": say why its target cannot be read back (readBack.notReadable): approvers read it with every execution.`,
    );
  }
  if (def.readBack && 'read' in def.readBack && def.readBack.ignore?.some((path) => !/^[^.]+(\.[^.]+)*$/.test(path))) {
    throw new TaskDefinitionError(
      `Task "${def.name}": readBack.ignore names fields by dotted path (e.g. \`createdAt\`, \`note.id\`); got ${JSON.stringify(def.readBack.ignore)}.`,
    );
  }
  if (def.usage) {
    const type = def.facts?.types[def.usage.sum] ?? def.planFacts?.types[def.usage.sum];
    if (type !== 'Long')
      throw new TaskDefinitionError(
        `Task "${def.name}": usage sums "${def.usage.sum}", which is ${type ? `a ${type}` : 'not a fact of the task'}; name one of its Long facts.`,
      );
    try {
      parseDurationSeconds(def.usage.window, `Task "${def.name}": its usage window`);
    } catch (err) {
      throw new TaskDefinitionError((err as Error).message);
    }
  }
  for (const [i, example] of def.examples.entries()) {
    const parsed = def.inputSchema.safeParse(example);
    if (!parsed.success) {
      throw new TaskDefinitionError(
        `Task "${def.name}": example ${i + 1} does not match its own schema: ${z.prettifyError(parsed.error)}`,
      );
    }
    if (def.facts) {
      const problem = factsProblem(def.facts.types, def.facts.of(parsed.data));
      if (problem) throw new TaskDefinitionError(`Task "${def.name}": the facts of example ${i + 1}: ${problem}.`);
    }
  }
  return Object.freeze(def);
}

const FACT_NAME = /^[a-z][A-Za-z0-9]*$/;
const FACT_TYPES: readonly FactType[] = ['Long', 'String', 'Bool', 'Set<String>'];

/** What is wrong with `facts` against their declared types (a missing, extra or mistyped fact), if anything. */
export function factsProblem(types: Record<string, FactType>, facts: Record<string, FactValue>): string | undefined {
  for (const name of Object.keys(facts))
    if (!(name in types)) return `"${name}" is not a declared fact (declared: ${Object.keys(types).join(', ')})`;
  for (const [name, type] of Object.entries(types)) {
    const value = facts[name];
    const ok =
      type === 'Long'
        ? Number.isSafeInteger(value)
        : type === 'String'
          ? typeof value === 'string'
          : type === 'Bool'
            ? typeof value === 'boolean'
            : Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (!ok) return `"${name}" must be a ${type}, and is ${JSON.stringify(value) ?? 'missing'}`;
  }
  return undefined;
}
