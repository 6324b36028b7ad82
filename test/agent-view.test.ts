import { agentView, HIDDEN_FROM_AGENTS } from '../client/agent-view';
import type { ActionState, PolicyDecision } from '../common/types';
import { createDefaultRegistry } from '../tasks';

// What a model is shown of an action (the MCP server's answers, and what SDK backends should hand their model).
const registry = createDefaultRegistry();
const catalog = registry.summaries();
const policy = (agentMayPreview: boolean): PolicyDecision => ({
  decision: 'allow',
  approvalsRequired: 1,
  policyIds: ['p'],
  approvalTimeoutSeconds: 60,
  sessionSeconds: 900,
  eligibleApprovers: ['bob'],
  explanation: '',
  agentMayPreview,
});
const state = (agentMayPreview: boolean) =>
  ({
    id: 'act-0123456789abcdef01234567',
    task: 'crm.update_customer',
    status: 'awaiting_approval',
    policy: policy(agentMayPreview),
    approvalsRequired: 1,
    approvedBy: [],
    plan: {
      target: 'demo-crm:customer/C-1002',
      summary: 'Change email, tier of Grace Hopper (C-1002)',
      sideEffects: ['overwrites email of customer C-1002'],
      before: { email: 'grace@example.com', tier: 'silver' },
      after: { email: 'grace@navy.example', tier: 'gold' },
      diff: [
        { path: 'email', op: 'change', before: 'grace@example.com', after: 'grace@navy.example' },
        { path: 'tier', op: 'change', before: 'silver', after: 'gold' },
      ],
      hash: 'a'.repeat(64),
      plannedAt: '',
    },
  }) as unknown as ActionState;

test('an agent that may preview sees the plan, with the current values of hidden fields masked', () => {
  const view = agentView(state(true), catalog);
  expect(view.diff).toEqual([
    { path: 'email', op: 'change', before: HIDDEN_FROM_AGENTS, after: 'grace@navy.example' },
    { path: 'tier', op: 'change', before: 'silver', after: 'gold' },
  ]);
  expect(JSON.stringify(view)).not.toContain('grace@example.com');
});

test('an agent that may not preview the task is not shown the plan of its own proposal', () => {
  const view = agentView(state(false), catalog);
  expect(view).toMatchObject({ status: 'awaiting_approval', summary: HIDDEN_FROM_AGENTS });
  expect(view.diff).toBeUndefined();
  expect(JSON.stringify(view)).not.toMatch(/grace@|silver/);
});
