import { readFileSync } from 'node:fs';
import * as workflows from '../workflows';
import { SHARED_WORKFLOW_MODULES } from '../workers/workflow-bundle';
import { testEnv } from './support/test-env';
import { ACTION_WORKFLOW_TYPE, LATE_DECISION_WORKFLOW_TYPE, USAGE_LEDGER_WORKFLOW_TYPE } from '../common/task-queue';

// Clients start the action workflow and late decisions by their type names, typed by their functions
// (`start<typeof actionWorkflow>`), and activities start usage ledgers by theirs: the names they send must be the
// ones the worker registers.
test('the worker registers exactly the action workflow, the usage ledger and late decisions, under the names they are started by', () => {
  expect(Object.keys(workflows).sort()).toEqual(
    [ACTION_WORKFLOW_TYPE, USAGE_LEDGER_WORKFLOW_TYPE, LATE_DECISION_WORKFLOW_TYPE].sort(),
  );
  expect(workflows.actionWorkflow.name).toBe(ACTION_WORKFLOW_TYPE);
  expect(workflows.usageLedgerWorkflow.name).toBe(USAGE_LEDGER_WORKFLOW_TYPE);
  expect(workflows.lateDecisionWorkflow.name).toBe(LATE_DECISION_WORKFLOW_TYPE);
});

// A module listed for sharing that the bundler drops (say, a package marked free of side effects, listed itself) is
// silently evaluated again for every workflow: each listed module must really be required by the preload.
test('every module listed for sharing in the workflow sandbox is really preloaded by the bundle', () => {
  const code = readFileSync(testEnv('workflowBundle'), 'utf8');
  const body = /exports\.preloadModules = function preloadModules\(\) \{\n([\s\S]*?)\n\}/.exec(code)?.[1] ?? '';
  const lines = body.split('\n').map((l) => l.trim());
  expect(lines).toHaveLength(SHARED_WORKFLOW_MODULES.length);
  for (const line of lines) expect(line).toMatch(/^__webpack_require__\(/);
});
