import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { ActionRequest } from './types';

/**
 * Typed search attributes of an action workflow, defined once.
 * They are not encrypted by payload codecs: they must never carry input values or secrets.
 */
export const SA_TASK = defineSearchAttributeKey('AirlockTask', SearchAttributeType.KEYWORD);
/** Current status, from {@link ACTION_STATUSES}. */
export const SA_STATUS = defineSearchAttributeKey('AirlockStatus', SearchAttributeType.KEYWORD);
/** The user the agent acts for, or the agent itself when it acts for nobody. */
export const SA_REQUESTER = defineSearchAttributeKey('AirlockRequester', SearchAttributeType.KEYWORD);
/** The proposing agent. */
export const SA_AGENT = defineSearchAttributeKey('AirlockAgent', SearchAttributeType.KEYWORD);
/** The task's risk level. */
export const SA_RISK = defineSearchAttributeKey('AirlockRisk', SearchAttributeType.KEYWORD);
/** Approvers whose approval was accepted. */
export const SA_APPROVERS = defineSearchAttributeKey('AirlockApprovers', SearchAttributeType.KEYWORD_LIST);

/** Every key, for registering them with a server. */
export const ALL_SEARCH_ATTRIBUTES = [SA_TASK, SA_STATUS, SA_REQUESTER, SA_AGENT, SA_RISK, SA_APPROVERS];

/** Keyword values are short identifiers; an over-long one (an agent's invalid task name) is cut. */
const keyword = (value: string): string => value.slice(0, 128);

/** The search attributes an action starts with; the workflow keeps the rest current. */
export function initialSearchAttributes(request: ActionRequest): SearchAttributePair[] {
  return [
    { key: SA_TASK, value: keyword(request.task) },
    { key: SA_STATUS, value: 'validating' },
    { key: SA_AGENT, value: keyword(request.agent) },
    { key: SA_REQUESTER, value: keyword(request.user ?? request.agent) },
  ];
}
