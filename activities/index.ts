export { createActivities } from './create-activities';
export type { AirlockActivities, ActivityDeps, ActionRef, ValidationOutcome } from './create-activities';
