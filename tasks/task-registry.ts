import { z } from 'zod';
import { DuplicateTaskError, UnknownTaskError } from '../common/errors';
import type { TaskDefinition } from './define-task';
import type { TaskPolicyShape } from '../policy/cedar-policy-engine';
import type { Risk } from '../common/statuses';

/** What agents and approvers see of a task. */
export interface TaskSummary {
  name: string;
  description: string;
  risk: Risk;
  /** JSON Schema of the input, generated from the zod schema. */
  inputSchema: unknown;
  /** Plan fields whose current values agents must not see (see `TaskDefinition.hiddenFromAgents`). */
  hiddenFromAgents: string[];
  /** What a tool client may assume of it (see `TaskDefinition.toolHints`), MCP's defaults filled in. */
  toolHints: { destructive: boolean; idempotent: boolean };
}

/**
 * What agents and their tools need to know of the tasks: names, descriptions, risk, input schemas. No
 * implementation: the worker's registry decides what runs.
 */
export type TaskCatalog = readonly TaskSummary[];

/** The set of tasks a worker can run. Registering a name twice throws. */
export class TaskRegistry {
  private readonly byName = new Map<string, TaskDefinition>();

  constructor(tasks: readonly TaskDefinition[] = []) {
    for (const task of tasks) this.register(task);
  }

  /** Adds a task; throws {@link DuplicateTaskError} if its name is taken. */
  register(task: TaskDefinition): this {
    if (this.byName.has(task.name)) throw new DuplicateTaskError(task.name);
    this.byName.set(task.name, task);
    return this;
  }

  /** Every task as policy sees it: its Cedar action, the types of its input and plan facts, whether it is counted. */
  policyShapes(): TaskPolicyShape[] {
    return this.tasks().map((t) => ({
      name: t.name,
      facts: t.facts?.types,
      planFacts: t.planFacts?.types,
      counted: Boolean(t.usage),
    }));
  }

  /** Whether a task of this name is registered. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The task of this name; throws {@link UnknownTaskError} if there is none. */
  get(name: string): TaskDefinition {
    const task = this.byName.get(name);
    if (!task) throw new UnknownTaskError(name, this.names());
    return task;
  }

  /** Every registered task, sorted by name. */
  tasks(): TaskDefinition[] {
    return this.names().map((name) => this.get(name));
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Every task's public description, with its input as JSON Schema: the catalog agents read. */
  summaries(): TaskSummary[] {
    return this.names().map((name) => {
      const task = this.get(name);
      return {
        name,
        description: task.description,
        risk: task.risk,
        inputSchema: z.toJSONSchema(task.inputSchema, { io: 'input' }),
        hiddenFromAgents: [...(task.hiddenFromAgents ?? [])],
        toolHints: {
          destructive: task.toolHints?.destructive ?? true,
          idempotent: task.toolHints?.idempotent ?? false,
        },
      };
    });
  }
}
