/** Why a late decision was not recorded (the decision's own checks, then the action's). */
export type LateDecisionRefusalCode =
  | 'malformed'
  | 'oversized'
  | 'undecodable'
  | 'unknown_action'
  | 'not_an_action'
  | 'still_running'
  | 'unknown_task'
  | 'unknown_key'
  | 'bad_signature'
  | 'replayed_nonce'
  | 'wrong_plan_hash';

/**
 * What became of a decision that arrived after its action had ended: it changed nothing; `recorded` says whether the
 * audit log holds it (a genuine decision, once per approver and action run), `status` how the action had ended.
 */
export interface LateDecisionOutcome {
  recorded: boolean;
  /** The action's final status, as the audit log (or its history) holds it; absent if the action was not found. */
  status?: string;
  /** The record that holds the approver's late decision (theirs, or the one they had sent before). */
  seq?: number;
  hash?: string;
  /** True when the log already held an earlier late decision of this approver: this one was not recorded again. */
  earlier?: boolean;
  /** Why it was not recorded. */
  refusal?: { code: LateDecisionRefusalCode; message: string };
}
