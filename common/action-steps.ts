/**
 * The steps an action admitted by this version takes: two workflow tasks (admission makes the plan; the audit record
 * is written in the last task where it can be; search attributes are sent once per task). Admission says so in its
 * result, which history keeps: a run admitted by an earlier version carries no such word, and keeps to the commands
 * it recorded, so that it replays.
 */
export const TWO_TASK_STEPS = 'two-task';
