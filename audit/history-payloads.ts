import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { Undecodable } from '../common/undecodable';

/** Turns one history payload into a value; never throws. */
export type HistoryDecoder = (payload?: Payload | null) => Promise<unknown>;

/**
 * Decodes history payloads one by one with the client's codecs and payload converter. A payload this process cannot
 * decode (a stranger's plain or foreign-key payload, say a signal) becomes the undecodable marker instead of failing
 * the whole read: an action's audit must not be hidden by one message someone else sent it.
 */
export function historyDecoder(client: Client): HistoryDecoder {
  const { payloadCodecs, payloadConverter } = client.workflow.options.loadedDataConverter;
  return async (payload) => {
    if (!payload) return undefined;
    try {
      let decoded = payload;
      for (const codec of [...payloadCodecs].reverse()) [decoded] = await codec.decode([decoded]);
      return payloadConverter.fromPayload(decoded);
    } catch (err) {
      const marker: Undecodable = { __airlockUndecodable: true, reason: (err as Error).message.slice(0, 200) };
      return marker;
    }
  };
}
