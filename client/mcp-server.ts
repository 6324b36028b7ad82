import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { ActionNotFoundError, AirlockError } from '../common/errors';
import { DECIDING_STATUSES, isFinalStatus } from '../common/statuses';
import { canonicalPersonId } from '../common/identifiers';
import type { ActionState } from '../common/types';
import type { AirlockClient } from './airlock-client';
import type { TaskCatalog } from '../tasks/task-registry';
import { agentView } from './agent-view';
import { safeJson, visibleLines } from '../common/terminal-text';

/** Who the MCP server proposes as: set by whoever runs the server, never by the model. */
export interface McpIdentity {
  agent: string;
  user?: string;
}

/** How long `propose_action` waits for a proposal to settle before answering. */
const SETTLE_MS = 30_000;

type ToolResult = { content: { type: 'text'; text: string }[]; isError?: boolean };
/** A tool answer: every value that came from outside escaped (a model's transcript is read by people too). */
const text = (value: unknown, isError = false): ToolResult => ({
  content: [{ type: 'text', text: typeof value === 'string' ? visibleLines(value) : safeJson(value, 2) }],
  ...(isError ? { isError: true } : {}),
});

/** The tool answer for an action's state: success only when it succeeded or was planned; else what to do. */
function answer(s: ActionState, catalog: TaskCatalog): ToolResult {
  const view = () => agentView(s, catalog);
  switch (s.status) {
    case 'succeeded':
    case 'planned':
      return text(view());
    case 'invalid':
      return text(
        `Invalid proposal for ${s.task}; nothing was done. Fix these and propose again:\n` +
          (s.issues ?? []).map((i) => `- ${i.path.join('.')}: ${i.message}`).join('\n') +
          "\nCall list_tasks for each task's input JSON Schema.",
        true,
      );
    case 'denied':
      return text(
        `Denied by policy; nothing was done. ${s.policy?.explanation ?? ''} Do not retry this proposal; ask a person if it is needed.`,
        true,
      );
    case 'awaiting_approval':
    case 'awaiting_reapproval':
      return text(
        `Action ${s.id} is ${s.status === 'awaiting_reapproval' ? 'awaiting approval of a new plan (the target changed since the last one was approved)' : 'awaiting approval'} by ${s.policy?.eligibleApprovers.join(' or ') || 'an approver'} ` +
          `(${s.approvedBy.length}/${s.approvalsRequired} approvals${s.expiresAt ? `, until ${s.expiresAt}` : ''}); nothing has run yet. ` +
          `Ask again later with get_action (action_id "${s.id}", wait_seconds up to 300).\n${safeJson(view(), 2)}`,
        true,
      );
    case 'validating':
    case 'planning':
    case 'executing':
      return text(`Action ${s.id} is ${s.status}. Ask again with get_action (action_id "${s.id}").`, true);
    default:
      return text(`Action ${s.id} ended ${s.status}: ${s.error?.message ?? ''}\n${safeJson(view(), 2)}`, true);
  }
}

/**
 * Airlock as an MCP server: `list_tasks`, `propose_action`, `get_action`, describing the tasks of `catalog`. The agent identity comes from the
 * server's configuration, so no prompt can make the model propose as another agent or user; an agent sees only
 * its own actions.
 */
export function createMcpServer(airlock: AirlockClient, identity: McpIdentity, catalog: TaskCatalog): McpServer {
  const server = new McpServer({ name: 'airlock', version: '0.1.0' });
  const taskList = catalog
    .map((t) => `- ${t.name} (risk ${t.risk}): ${t.description}\n  input JSON Schema: ${JSON.stringify(t.inputSchema)}`)
    .join('\n');

  const ownState = async (id: string): Promise<ActionState> => {
    const state = await airlock.get(id);
    // Other agents' actions do not exist here (ids are compared in their canonical form).
    if (state.agent !== canonicalPersonId(identity.agent)) throw new ActionNotFoundError(id);
    return state;
  };

  server.registerTool(
    'list_tasks',
    { description: 'List the tasks you may propose, with their risk and the JSON Schema of their input.' },
    async () => text(catalog),
  );

  server.registerTool(
    'propose_action',
    {
      description:
        'Propose an action on a real system. Airlock validates the input, checks policy, plans a dry run, waits for human ' +
        'approval where policy says so, then executes. You never get credentials. Tasks:\n' +
        taskList,
      inputSchema: {
        task: z.string().describe('a task name from list_tasks'),
        input: z.record(z.string(), z.unknown()).describe("the task's input, matching its JSON Schema"),
        reason: z.string().max(1000).optional().describe('why, for the people who approve'),
        idempotency_key: z
          .string()
          .max(200)
          .optional()
          .describe('resend with the same key to get the same action, never a second one'),
        dry_run: z.boolean().optional().describe('plan only: show what would change, execute nothing'),
      },
    },
    async (args) => {
      try {
        const proposal = await airlock.propose({
          task: args.task,
          input: args.input,
          agent: identity.agent,
          user: identity.user,
          reason: args.reason,
          dryRun: args.dry_run,
          idempotencyKey: args.idempotency_key,
        });
        await airlock.waitFor(proposal.id, DECIDING_STATUSES, { timeoutMs: SETTLE_MS }).catch(() => undefined);
        return answer(await airlock.get(proposal.id), catalog);
      } catch (err) {
        return text(
          err instanceof AirlockError ? err.message : `Airlock could not take the proposal: ${(err as Error).message}`,
          true,
        );
      }
    },
  );

  server.registerTool(
    'get_action',
    {
      description: 'Get an action you proposed: status, plan summary and diff, approvals, result or error.',
      inputSchema: {
        action_id: z.string().describe('the action_id propose_action returned'),
        wait_seconds: z
          .number()
          .int()
          .min(0)
          .max(300)
          .optional()
          .describe('wait up to this long for the action to finish'),
      },
    },
    async (args) => {
      try {
        let state = await ownState(args.action_id);
        if (!isFinalStatus(state.status) && args.wait_seconds) {
          state = await airlock
            .result(args.action_id, { timeoutMs: args.wait_seconds * 1000 })
            .catch(() => ownState(args.action_id));
        }
        return answer(state, catalog);
      } catch (err) {
        return text(
          err instanceof AirlockError ? err.message : `Airlock could not read the action: ${(err as Error).message}`,
          true,
        );
      }
    },
  );
  return server;
}
