import { UnknownTaskError } from '../common/errors';
import type { TaskCatalog } from '../tasks/task-registry';

/** A tool in the form common LLM tool-calling APIs accept. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** A task name as a tool name: letters, digits, `_` and `-` only. */
export const toolNameFor = (task: string): string => task.replace(/\./g, '__');

/**
 * Every task of the catalog as a function definition for LLM tool-calling APIs (`{ type: 'function', function: {
 * name, description, parameters } }`), its parameters the JSON Schema generated from the task's zod schema. Tool
 * names replace dots with `__` (`crm__add_note_to_customer`), which those APIs require; {@link taskForTool} maps back.
 */
export function toolDefinitions(catalog: TaskCatalog): ToolDefinition[] {
  return catalog.map((t) => {
    const { $schema: _ignored, ...parameters } = t.inputSchema as Record<string, unknown>;
    return {
      type: 'function',
      function: {
        name: toolNameFor(t.name),
        description: `${t.description} Risk: ${t.risk}; Airlock checks policy and may wait for human approval before it runs.`,
        parameters,
      },
    };
  });
}

/** The task a tool name from {@link toolDefinitions} stands for; throws {@link UnknownTaskError} for any other. */
export function taskForTool(catalog: TaskCatalog, toolName: string): string {
  const task = catalog.find((t) => toolNameFor(t.name) === toolName);
  if (!task)
    throw new UnknownTaskError(
      toolName,
      catalog.map((t) => toolNameFor(t.name)),
    );
  return task.name;
}
