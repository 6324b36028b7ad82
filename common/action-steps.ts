/**
 * The steps an action admitted by this version takes: two workflow tasks (admission makes the plan; the audit record
 * is written in the last task where it can be; search attributes are sent once per task). Admission says so in its
 * result, which history keeps: a run admitted by an earlier version carries no such word, and keeps to the commands
 * it recorded, so that it replays.
 */
export const TWO_TASK_STEPS = 'two-task' as const;

/**
 * The patch (Temporal's `patched`) under which an action's first step is the regular activity `admitAndExecute`,
 * which carries out an action that needs no approval itself. Runs begun before it admitted in a local activity and
 * replay so.
 */
export const ADMIT_AND_EXECUTE_PATCH = 'airlock-admit-and-execute';

/**
 * The patch under which an action that needs approval keeps its memo (summary, approvals, expiry) for lists and the
 * inbox. Runs that passed this point before replay without it.
 */
export const ACTION_MEMO_PATCH = 'airlock-action-memo';
