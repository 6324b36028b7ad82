/** The task queue every Airlock worker polls and every client starts actions on. */
export const AIRLOCK_TASK_QUEUE = 'airlock-actions';

/** Workflow type name of an action. */
export const ACTION_WORKFLOW_TYPE = 'actionWorkflow';
