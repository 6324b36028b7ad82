import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ActionNotFoundError, AirlockError, IdempotencyConflictError } from '../common/errors';
import { DECIDING_STATUSES, isFinalStatus } from '../common/statuses';
import { canonicalPersonId } from '../common/identifiers';
import type { ActionState } from '../common/types';
import type { AirlockClient } from './airlock-client';
import type { TaskCatalog, TaskSummary } from '../tasks/task-registry';
import { agentView } from './agent-view';
import { safeJson, visibleLines } from '../common/terminal-text';
import {
  ACTION_VIEW_JSON_SCHEMA,
  IDEMPOTENCY_KEY_ARG,
  jsonSchemaOf,
  REASON_ARG,
  taskToolAnnotations,
  taskToolDescription,
  taskToolInputSchema,
  taskToolName,
  taskTools,
  type ActionView,
  type TaskTool,
} from './mcp-tools';

/** Who the MCP server proposes as: set by whoever runs the server (or by the credential), never by the model. */
export interface McpIdentity {
  agent: string;
  user?: string;
}

/** How a server decides what an agent is shown and let do, beyond its identity. */
export interface McpServerOptions {
  /**
   * Whether policy could ever allow this agent the task (or, with `preview`, a preview of it): tasks it never could
   * are not listed. Asked again on {@link AirlockMcpServer.refresh}. By default every task is shown.
   */
  mayEverAllow?: (task: TaskSummary, preview: boolean) => boolean;
  /** Asked before each tool call: a message refuses the call with it (a rate limit), nothing done. */
  admit?: () => string | undefined;
}

/** An MCP server of Airlock's, and how to tell its client that the tools it may use changed. */
export interface AirlockMcpServer {
  server: Server;
  /**
   * Asks policy again which tasks are shown; when that changed, sends `notifications/tools/list_changed` (once the
   * client is connected). Returns whether it changed.
   */
  refresh(): Promise<boolean>;
}

/** How long a proposal waits to settle before the tool answers. */
const SETTLE_MS = 30_000;

type ToolResult = {
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

/** A tool answer of text: every value that came from outside escaped (a model's transcript is read by people too). */
const text = (value: unknown, isError = false): ToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? visibleLines(value) : safeJson(value, 2) }],
  ...(isError ? { isError: true } : {}),
});

/** Every string in `value` with what a terminal or a reader could be fooled by escaped; undefined dropped. */
function escaped(value: unknown): unknown {
  if (typeof value === 'string') return visibleLines(value);
  if (Array.isArray(value)) return value.map(escaped);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [visibleLines(k), escaped(v)]),
    );
  return value;
}

/** What the agent is told of an action's state, and whether the tool call failed (it did unless it ran or planned). */
function message(s: ActionState): { message: string; isError: boolean } {
  switch (s.status) {
    case 'succeeded':
      return { message: `Action ${s.id} succeeded.`, isError: false };
    case 'planned':
      return { message: `Action ${s.id} is a finished preview: nothing was executed.`, isError: false };
    case 'invalid':
      return {
        message:
          `Invalid proposal for ${s.task}; nothing was done. Fix these and propose again:\n` +
          (s.issues ?? []).map((i) => `- ${i.path.join('.')}: ${i.message}`).join('\n') +
          "\nCall list_tasks for each task's input JSON Schema.",
        isError: true,
      };
    case 'denied':
      return {
        message: `Denied by policy; nothing was done. ${s.policy?.explanation ?? ''} Do not retry this proposal; ask a person if it is needed.`,
        isError: true,
      };
    case 'awaiting_approval':
    case 'awaiting_reapproval':
      return {
        message:
          `Action ${s.id} is ${s.status === 'awaiting_reapproval' ? 'awaiting approval of a new plan (the target changed since the last one was approved)' : 'awaiting approval'} by ${s.policy?.eligibleApprovers.join(' or ') || 'an approver'} ` +
          `(${s.approvedBy.length}/${s.approvalsRequired} approvals${s.expiresAt ? `, until ${s.expiresAt}` : ''}); nothing has run yet. ` +
          `Ask again later with get_action (action_id "${s.id}", wait_seconds up to 300).`,
        isError: true,
      };
    case 'validating':
    case 'planning':
    case 'executing':
      return {
        message: `Action ${s.id} is ${s.status}. Ask again with get_action (action_id "${s.id}").`,
        isError: true,
      };
    default:
      return { message: `Action ${s.id} ended ${s.status}: ${s.error?.message ?? ''}`, isError: true };
  }
}

/**
 * The tool answer for an action's state: the agent view as `structuredContent` (every string escaped), the same as
 * text with what to do, and an error unless it succeeded or was planned.
 */
function answer(s: ActionState, catalog: TaskCatalog): ToolResult {
  const said = message(s);
  const view = escaped({ ...agentView(s, catalog), message: said.message }) as ActionView;
  const { message: _said, ...rest } = view;
  return {
    content: [
      {
        type: 'text',
        text: said.isError ? `${visibleLines(said.message)}\n${safeJson(rest, 2)}` : safeJson(rest, 2),
      },
    ],
    structuredContent: view,
    ...(said.isError ? { isError: true } : {}),
  };
}

const ProposeArgs = z.strictObject({
  task: z.string().describe('a task name from list_tasks'),
  input: z.record(z.string(), z.unknown()).describe("the task's input, matching its JSON Schema"),
  reason: z.string().max(1000).optional().describe('why, for the people who approve'),
  idempotency_key: z
    .string()
    .max(200)
    .optional()
    .describe('resend with the same key to get the same action, never a second one'),
  dry_run: z.boolean().optional().describe('plan only: show what would change, execute nothing'),
});
const GetArgs = z.strictObject({
  action_id: z.string().describe('the action_id propose_action returned'),
  wait_seconds: z.number().int().min(0).max(300).optional().describe('wait up to this long for the action to finish'),
});
const ListArgs = z.strictObject({});
const ControlArgs = z.object({
  [REASON_ARG]: z.string().max(1000).optional(),
  [IDEMPOTENCY_KEY_ARG]: z.string().max(200).optional(),
});

const inputSchemaOf = (schema: z.ZodType) => jsonSchemaOf(schema, 'input') as Tool['inputSchema'];

/**
 * Airlock as an MCP server for one agent: a tool per task it could ever be allowed (and a read-only preview tool
 * where it could ever preview), answered with `structuredContent`; and `list_tasks`, `propose_action`,
 * `get_action` for clients that want one generic tool. The identity comes from whoever runs the server (stdio) or
 * from the agent's credential (HTTP), never from arguments; an agent sees only its own actions. Arguments are
 * passed to Airlock as they came: Airlock's validation, not the MCP layer's, refuses bad input, so that the refusal
 * is recorded like any other.
 */
export function createMcpServer(
  airlock: AirlockClient,
  identity: McpIdentity,
  catalog: TaskCatalog,
  options: McpServerOptions = {},
): AirlockMcpServer {
  const server = new Server(
    { name: 'airlock', version: '0.1.0' },
    {
      capabilities: { tools: { listChanged: true } },
      instructions:
        'Airlock runs actions on real systems for you: each task is a tool. It checks policy, shows people a plan and ' +
        'waits for their approval where policy says so. You never get credentials.',
    },
  );
  const allTaskTools = taskTools(catalog);
  const visibleNow = () =>
    new Set(
      [...allTaskTools.values()]
        .filter((t) => (options.mayEverAllow ? options.mayEverAllow(t.task, t.preview) : true))
        .map((t) => t.name),
    );
  let visible = visibleNow();
  /** The tasks listed: those the agent could ever propose or preview. */
  const shownTasks = () =>
    catalog.filter((t) => visible.has(taskToolName(t.name, false)) || visible.has(taskToolName(t.name, true)));

  const agent = canonicalPersonId(identity.agent);
  const user = identity.user ? canonicalPersonId(identity.user) : undefined;
  const ownState = async (id: string): Promise<ActionState> => {
    const state = await airlock.get(id);
    // Actions of other agents, or of this agent for another user, do not exist here (ids compared canonically).
    if (state.agent !== agent || (state.user || undefined) !== user) throw new ActionNotFoundError(id);
    return state;
  };

  const propose = async (args: {
    task: string;
    input: unknown;
    reason?: string;
    idempotencyKey?: string;
    dryRun?: boolean;
  }): Promise<ToolResult> => {
    // A key is this agent's for this user: the same key sent for another user is another action, never a way to
    // find this one's id.
    // (User ids never hold ':' and are at least two characters long, so `-` and each user are their own spaces.)
    const idempotencyKey = args.idempotencyKey === undefined ? undefined : `${user ?? '-'}:${args.idempotencyKey}`;
    let proposal;
    try {
      proposal = await airlock.propose({ ...args, idempotencyKey, agent: identity.agent, user: identity.user });
    } catch (err) {
      if (err instanceof IdempotencyConflictError)
        return text(
          `The idempotency key was already used for a different proposal; nothing was done. Use a new key for a new proposal, or resend exactly the same proposal to get the existing action.`,
          true,
        );
      throw err;
    }
    await airlock.waitFor(proposal.id, DECIDING_STATUSES, { timeoutMs: SETTLE_MS }).catch(() => undefined);
    return answer(await ownState(proposal.id), catalog);
  };

  const listTools = (): Tool[] => {
    const tasks = shownTasks();
    const taskList = tasks
      .map(
        (t) => `- ${t.name} (risk ${t.risk}): ${t.description}\n  input JSON Schema: ${JSON.stringify(t.inputSchema)}`,
      )
      .join('\n');
    return [
      ...[...allTaskTools.values()]
        .filter((t) => visible.has(t.name))
        .map((t): Tool => ({
          name: t.name,
          title: taskToolAnnotations(t).title,
          description: taskToolDescription(t),
          inputSchema: taskToolInputSchema(t) as Tool['inputSchema'],
          outputSchema: ACTION_VIEW_JSON_SCHEMA as Tool['outputSchema'],
          annotations: taskToolAnnotations(t),
        })),
      {
        name: 'list_tasks',
        description: 'List the tasks you may propose, with their risk and the JSON Schema of their input.',
        inputSchema: inputSchemaOf(ListArgs),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      {
        name: 'propose_action',
        description:
          'Propose an action on a real system. Airlock validates the input, checks policy, plans a dry run, waits for human ' +
          'approval where policy says so, then executes. You never get credentials. Tasks:\n' +
          taskList,
        inputSchema: inputSchemaOf(ProposeArgs),
        outputSchema: ACTION_VIEW_JSON_SCHEMA as Tool['outputSchema'],
        annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: true },
      },
      {
        name: 'get_action',
        description: 'Get an action you proposed: status, plan summary and diff, approvals, result or error.',
        inputSchema: inputSchemaOf(GetArgs),
        outputSchema: ACTION_VIEW_JSON_SCHEMA as Tool['outputSchema'],
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
    ];
  };

  const call = async (name: string, args: Record<string, unknown>): Promise<ToolResult> => {
    const taskTool: TaskTool | undefined = allTaskTools.get(name);
    if (taskTool) {
      if (!visible.has(name))
        return text(`Tool ${name} is not available to you: policy never allows it. Call list_tasks.`, true);
      const { [REASON_ARG]: reason, [IDEMPOTENCY_KEY_ARG]: idempotencyKey, ...input } = args;
      const control = ControlArgs.safeParse({ [REASON_ARG]: reason, [IDEMPOTENCY_KEY_ARG]: idempotencyKey });
      if (!control.success) return text(`${name}: ${z.prettifyError(control.error)}`, true);
      return propose({
        task: taskTool.task.name,
        input,
        reason: control.data[REASON_ARG],
        idempotencyKey: taskTool.preview ? undefined : control.data[IDEMPOTENCY_KEY_ARG],
        dryRun: taskTool.preview,
      });
    }
    switch (name) {
      case 'list_tasks': {
        const parsed = ListArgs.safeParse(args);
        if (!parsed.success) return text(`list_tasks takes no arguments: ${z.prettifyError(parsed.error)}`, true);
        return text(shownTasks());
      }
      case 'propose_action': {
        const parsed = ProposeArgs.safeParse(args);
        if (!parsed.success) return text(`propose_action: ${z.prettifyError(parsed.error)}`, true);
        const a = parsed.data;
        return propose({
          task: a.task,
          input: a.input,
          reason: a.reason,
          idempotencyKey: a.idempotency_key,
          dryRun: a.dry_run,
        });
      }
      case 'get_action': {
        const parsed = GetArgs.safeParse(args);
        if (!parsed.success) return text(`get_action: ${z.prettifyError(parsed.error)}`, true);
        let state = await ownState(parsed.data.action_id);
        if (!isFinalStatus(state.status) && parsed.data.wait_seconds) {
          state = await airlock
            .result(parsed.data.action_id, { timeoutMs: parsed.data.wait_seconds * 1000 })
            .catch(() => ownState(parsed.data.action_id));
        }
        return answer(state, catalog);
      }
      default:
        return text(`There is no tool ${name}. Call tools/list for the tools you may use.`, true);
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listTools() }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const refusal = options.admit?.();
    if (refusal) return text(refusal, true);
    try {
      return await call(request.params.name, request.params.arguments ?? {});
    } catch (err) {
      return text(
        err instanceof AirlockError
          ? err.message
          : `Airlock could not do that: ${(err as Error).message}. Try again; if it keeps failing, tell a person.`,
        true,
      );
    }
  });

  return {
    server,
    async refresh() {
      const now = visibleNow();
      const changed = now.size !== visible.size || [...now].some((n) => !visible.has(n));
      visible = now;
      if (changed && server.transport) await server.sendToolListChanged().catch(() => undefined);
      return changed;
    },
  };
}
