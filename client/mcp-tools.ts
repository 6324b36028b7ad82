import { z } from 'zod';
import { ACTION_STATUSES } from '../common/statuses';
import type { TaskCatalog, TaskSummary } from '../tasks/task-registry';
import { toolNameFor } from './tool-definitions';

/** The tools every MCP client gets, whatever its tasks: for clients that do not take a tool per task. */
export const GENERIC_TOOLS = ['list_tasks', 'propose_action', 'get_action'] as const;

/** The suffix of a task's preview tool: it plans (a dry run) and executes nothing. */
const PREVIEW_SUFFIX = '__preview';

/** Arguments of a task's tool that are Airlock's, not the task's: why (for approvers) and an idempotency key. */
export const REASON_ARG = 'airlock_reason';
export const IDEMPOTENCY_KEY_ARG = 'airlock_idempotency_key';

/** One task's tool: the task it proposes, and whether it only previews (a dry run). */
export interface TaskTool {
  name: string;
  task: TaskSummary;
  preview: boolean;
}

/** The name of a task's tool (`crm__add_note_to_customer`), or of its preview (`crm__add_note_to_customer__preview`). */
export const taskToolName = (task: string, preview: boolean): string =>
  toolNameFor(task) + (preview ? PREVIEW_SUFFIX : '');

/** Every task's two tools, by name. Throws when a task's name would collide with a generic tool's. */
export function taskTools(catalog: TaskCatalog): Map<string, TaskTool> {
  const tools = new Map<string, TaskTool>();
  for (const task of catalog)
    for (const preview of [false, true]) {
      const name = taskToolName(task.name, preview);
      if (tools.has(name) || (GENERIC_TOOLS as readonly string[]).includes(name))
        throw new Error(`Task ${task.name}'s MCP tool ${name} collides with another tool; rename the task.`);
      tools.set(name, { name, task, preview });
    }
  return tools;
}

/**
 * What an agent sees of an action, as a tool's `structuredContent`: the agent view (see `agentView`) with a message
 * saying what to do next. Its JSON Schema is every action tool's `outputSchema`.
 */
export const ActionViewSchema = z.looseObject({
  action_id: z.string(),
  task: z.string(),
  status: z.enum(ACTION_STATUSES),
  message: z.string().describe('what happened, and what to do next'),
  summary: z.string().optional().describe("the plan's summary (hidden unless policy lets this agent preview)"),
  side_effects: z.array(z.string()).optional(),
  diff: z
    .array(
      z.looseObject({
        path: z.string(),
        op: z.enum(['add', 'remove', 'change']),
        before: z.unknown().optional(),
        after: z.unknown().optional(),
      }),
    )
    .optional(),
  approvals: z
    .looseObject({ given: z.number().int(), needed: z.number().int(), expires_at: z.string().optional() })
    .optional(),
  issues: z.array(z.looseObject({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
  result: z.unknown().optional(),
  error: z.looseObject({ type: z.string().optional(), message: z.string() }).optional(),
});
/** An action as a tool answers it. */
export type ActionView = z.infer<typeof ActionViewSchema>;

/** A zod object schema as the JSON Schema of a tool's input or output (without `$schema`, which MCP does not want). */
export const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
  return rest as { type: 'object'; [key: string]: unknown };
};
/** The `outputSchema` of every tool that answers with an action. */
export const ACTION_VIEW_JSON_SCHEMA = jsonSchemaOf(ActionViewSchema, 'output');

/**
 * A task tool's `inputSchema`: the task's own input JSON Schema, with Airlock's optional arguments added beside the
 * task's fields. Throws when a task has a field of the same name (then the tool could not tell them apart).
 */
export function taskToolInputSchema(tool: TaskTool): { type: 'object'; [key: string]: unknown } {
  const { $schema: _ignored, ...schema } = tool.task.inputSchema as Record<string, unknown>;
  const properties = { ...((schema.properties as Record<string, unknown>) ?? {}) };
  for (const arg of [REASON_ARG, IDEMPOTENCY_KEY_ARG])
    if (arg in properties) throw new Error(`Task ${tool.task.name} has a field ${arg}, which its MCP tool reserves.`);
  properties[REASON_ARG] = { type: 'string', maxLength: 1000, description: 'why, for the people who approve' };
  if (!tool.preview)
    properties[IDEMPOTENCY_KEY_ARG] = {
      type: 'string',
      maxLength: 200,
      description: 'call again with the same key to get the same action, never a second one',
    };
  return { ...schema, type: 'object', properties };
}

/** A task tool's description: the task's own, what Airlock does around it, and for a preview, that nothing runs. */
export function taskToolDescription(tool: TaskTool): string {
  const { task } = tool;
  return tool.preview
    ? `Preview ${task.name} (a dry run): reads the target and says what would change; changes nothing. ${task.description}`
    : `${task.description} (Airlock task ${task.name}, risk ${task.risk}.) Airlock checks policy, plans a dry run and ` +
        'may wait for human approval before it runs; you never get credentials. If it is awaiting approval, ask ' +
        'again with get_action.';
}

/** MCP's tool annotations for a task tool: a preview only reads; a task's tool says what its task declares. */
export function taskToolAnnotations(tool: TaskTool) {
  return tool.preview
    ? { title: `Preview ${tool.task.name}`, readOnlyHint: true, idempotentHint: true, openWorldHint: true }
    : {
        title: tool.task.name,
        readOnlyHint: false,
        destructiveHint: tool.task.toolHints.destructive,
        idempotentHint: tool.task.toolHints.idempotent,
        openWorldHint: true,
      };
}
