/**
 * The client SDK, as the package exports it (`import { AirlockClient } from 'airlock'`, in CommonJS too): the
 * client, the task catalog and its tool definitions for an agent's tool-calling loop, what to hand the model of an
 * action, the signing keys, statuses, the action's types and Airlock's errors.
 *
 * Contract: only what an agent backend or an approver's script needs; it must not export the worker, the activities
 * or anything that loads a target's SDK (the catalog loads none: tasks load their SDKs when a step runs).
 */
export { AirlockClient } from './airlock-client';
export type { AirlockClientOptions, ProposeOptions, Proposal } from './airlock-client';
export type { ActionFilter, ActionPage, ActionSummary } from './action-list';
export { toolDefinitions, toolNameFor, taskForTool, type ToolDefinition } from './tool-definitions';
export { agentView, HIDDEN_FROM_AGENTS } from './agent-view';
export { defaultCatalog, type TaskCatalog, type TaskSummary } from '../tasks';
export { createSigningKey, keysDir, loadSigningKey, publicKeyText } from '../crypto/signing-keys';
export {
  ACTION_STATUSES,
  DECIDING_STATUSES,
  FINAL_STATUSES,
  RISK_LEVELS,
  isFinalStatus,
  type ActionStatus,
  type Risk,
} from '../common/statuses';
export type {
  ActionError,
  ActionRequest,
  ActionState,
  ApprovalAttempt,
  ApprovalRefusalCode,
  DiffEntry,
  InputIssue,
  Plan,
  PolicyDecision,
  SignedDecision,
} from '../common/types';
export {
  ActionNotFoundError,
  AirlockError,
  ConfigError,
  DecisionError,
  IdempotencyConflictError,
  LateDecisionError,
  PlanIntegrityError,
  UnknownTaskError,
} from '../common/errors';
