// The one module the worker's workflowsPath points to: it exports every workflow.
export { actionWorkflow } from './action-workflow';
export { usageLedgerWorkflow } from './usage-ledger-workflow';
export { lateDecisionWorkflow } from './late-decision-workflow';
