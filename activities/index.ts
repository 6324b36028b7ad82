export { createActivities } from './create-activities';
export type { AirlockActivities, ActivityDeps, Admission, DecisionCheck, EvidenceArgs } from './create-activities';
