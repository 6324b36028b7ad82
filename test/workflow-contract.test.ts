import { readFileSync } from 'node:fs';
import * as workflows from '../workflows';
import { SHARED_WORKFLOW_MODULES } from '../workers/workflow-bundle';
import { testEnv } from './support/test-env';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';

// Clients start the action workflow by its type name, typed by its function (`start<typeof actionWorkflow>`): the
// name they send must be the one the worker registers.
test('the worker registers exactly the action workflow, under the name clients start', () => {
  expect(Object.keys(workflows)).toEqual([ACTION_WORKFLOW_TYPE]);
  expect(workflows.actionWorkflow.name).toBe(ACTION_WORKFLOW_TYPE);
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
