import * as workflows from '../workflows';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';

// Clients start the action workflow by its type name, typed by its function (`start<typeof actionWorkflow>`): the
// name they send must be the one the worker registers.
test('the worker registers exactly the action workflow, under the name clients start', () => {
  expect(Object.keys(workflows)).toEqual([ACTION_WORKFLOW_TYPE]);
  expect(workflows.actionWorkflow.name).toBe(ACTION_WORKFLOW_TYPE);
});
