import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { setCurrentDetails, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ACTION_MEMO_KEY, actionMemo } from '../common/action-memo';
import { getActionQuery } from '../common/messages';
import { provisionalFields } from '../common/proposal';
import { SA_STATUS } from '../common/search-attributes';
import { actionDetails } from './action-details';
import type { ActionStatus } from '../common/statuses';
import type { ActionState, SignedProposal } from '../common/types';

/** Workflow time, as ISO 8601: deterministic on replay. */
export const now = (): string => new Date().toISOString();

/**
 * The action's state as everyone reads it: the `getAction` query, the status search attribute, and in the end the
 * workflow's result. Until admission verifies the proposal, what it claims is shown bounded and never trusted.
 */
export class ActionRecord {
  readonly state: ActionState;
  /** Search attribute changes not yet sent, by key: each upsert is a history event and a visibility write. */
  private readonly unpublished = new Map<string, SearchAttributeUpdatePair>();

  /** Whether search attributes wait for {@link publish}: see {@link batchFromNow}. */
  private batched = false;
  /** Whether this run keeps its memo (see {@link memoFromNow}), and whether it changed since the last publish. */
  private memo = false;
  private memoChanged = false;

  constructor(proposal: SignedProposal) {
    const info = workflowInfo();
    const claimed = provisionalFields(proposal);
    this.state = {
      id: info.workflowId,
      runId: info.runId,
      task: claimed.task,
      status: 'validating',
      agent: claimed.agent,
      user: claimed.user,
      requester: claimed.user ?? claimed.agent,
      owners: [],
      reason: claimed.reason,
      dryRun: claimed.dryRun,
      stalePlans: [],
      approvalsRequired: 0,
      approvedBy: [],
      approvals: [],
      refusalsNotKept: 0,
      refusedBeforeHistory: { total: 0, byCode: {} },
      createdAt: now(),
      updatedAt: now(),
      transitions: [{ status: 'validating', at: now() }],
    };
    // Whatever search attributes the starter set, the status is this workflow's from its first task.
    this.index({ key: SA_STATUS, value: 'validating' });
    setHandler(getActionQuery, () => this.state);
  }

  /** Moves to `status`: noted in the transitions and the search attribute. */
  setStatus(status: ActionStatus): void {
    this.state.status = status;
    this.state.updatedAt = now();
    this.state.transitions.push({ status, at: this.state.updatedAt });
    this.index({ key: SA_STATUS, value: status });
    this.noteMemo();
  }

  /**
   * From now on, the run keeps its memo (summary, approvals, expiry) for lists and the inbox, which then need no
   * worker: for runs that reach this point in this version (a patched step), so that earlier runs replay.
   */
  memoFromNow(): void {
    this.memo = true;
  }

  /** The memo is to be written at the next {@link publish}: the plan, the approvals or the window changed. */
  noteMemo(): void {
    if (this.memo) this.memoChanged = true;
  }

  /**
   * From now on, search attributes wait for {@link publish}: for actions admitted by this version. A run admitted by
   * an earlier version sends each change at once, as it did, so that its history replays.
   */
  batchFromNow(): void {
    this.batched = true;
  }

  /** Sets search attributes: at once, or with the others at the next {@link publish}. */
  index(...pairs: SearchAttributeUpdatePair[]): void {
    if (!this.batched) return upsertSearchAttributes(pairs);
    for (const pair of pairs) this.unpublished.set(pair.key.name, pair);
  }

  /**
   * Sends the search attributes set since the last call, in one upsert. Must be called before the workflow waits on
   * anything but a local activity: until then its commands stay in the worker (the workflow task is not completed),
   * so an earlier upsert would reach history and visibility no sooner, only as one more event and one more write.
   */
  publish(): void {
    // The Web UI's current details (no command: what the UI reads by query, never part of history).
    setCurrentDetails(actionDetails(this.state));
    if (this.memoChanged) {
      upsertMemo({ [ACTION_MEMO_KEY]: actionMemo(this.state) });
      this.memoChanged = false;
    }
    if (!this.unpublished.size) return;
    upsertSearchAttributes([...this.unpublished.values()]);
    this.unpublished.clear();
  }

  /** Records why the action ends other than succeeded. */
  fail(type: string, message: string): void {
    this.state.error = { type, message };
  }
}
