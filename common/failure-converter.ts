import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failures with their message and stack trace moved into an encoded payload, so the payload codec encrypts them
 * like every other payload. Loaded by path (`failureConverterPath`) into the workflow bundle, and used by clients.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
