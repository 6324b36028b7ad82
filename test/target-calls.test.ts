import { TargetError } from '../common/errors';
import { callTarget, classifyTargetError, named } from '../tasks/kit';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../tasks/kit/call-target';
import fc from 'fast-check';

// One rule for every task (and for STS and Secrets Manager): what may be retried after a failed call.
const aws = (name: string, status?: number) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
const stripe = (type: string, statusCode?: number) => Object.assign(new Error('stripe said'), { type, statusCode });
const socket = (code: string) =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket'), { code }) });

test.each([
  ['AWS throttling by name, whatever the status', aws('ThrottlingException', 400), 'throttled', true],
  ['AWS Throttling (STS)', aws('Throttling', 400), 'throttled', true],
  ['DynamoDB provisioned throughput', aws('ProvisionedThroughputExceededException', 400), 'throttled', true],
  ['HTTP 429', Object.assign(new Error('slow down'), { status: 429 }), 'throttled', true],
  ['Stripe rate limit', stripe('StripeRateLimitError', 429), 'throttled', true],
  ['a 5xx answer', aws('InternalFailure', 500), 'status', true],
  ['a 503 from Stripe', stripe('StripeAPIError', 503), 'status', true],
  ['408 request timeout', Object.assign(new Error('timeout'), { status: 408 }), 'status', true],
  ['a 4xx answer', aws('ValidationException', 400), 'status', false],
  ['403 access denied', aws('AccessDeniedException', 403), 'status', false],
  ['409 by default', stripe('StripeIdempotencyError', 409), 'status', false],
  ['a reset connection (fetch hides it in cause)', socket('ECONNRESET'), 'network', true],
  ['a refused connection', socket('ECONNREFUSED'), 'network', true],
  ['an undici socket error', socket('UND_ERR_SOCKET'), 'network', true],
  ['an aborted or timed-out call', Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'network', true],
  ['a Stripe connection error', stripe('StripeConnectionError'), 'network', true],
  [
    'the worker’s own credentials timed out',
    Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
    'network',
    true,
  ],
  [
    'an error the AWS SDK marks transient',
    Object.assign(new Error('x'), { name: 'X', $retryable: {} }),
    'network',
    true,
  ],
  [
    'a bug: no status, no network cause',
    new TypeError("Cannot read properties of undefined (reading 'id')"),
    'unknown',
    false,
  ],
  ['a body that is not JSON', new SyntaxError('Unexpected token < in JSON'), 'unknown', false],
  ['the action’s session expired mid-activity', aws('ExpiredTokenException', 400), 'expired', true],
  ['STS’s expired token', aws('ExpiredToken', 400), 'expired', true],
] as const)('%s → %s, retryable %s', (_label, err, kind, retryable) => {
  expect(classifyTargetError(err)).toMatchObject({ kind, retryable });
});

test('a target may name statuses that mean "try again" (Stripe: 409 while the same key is in flight)', () => {
  expect(classifyTargetError(stripe('StripeIdempotencyError', 409), { retryableStatuses: [409] }).retryable).toBe(true);
  expect(classifyTargetError(stripe('StripeInvalidRequestError', 400), { retryableStatuses: [409] }).retryable).toBe(
    false,
  );
});

test('callTarget throws one TargetError that says which target, which call, what status and whether to retry', async () => {
  const refused = await callTarget('the demo CRM', 'POST /customers/C-1/notes', () =>
    Promise.reject(Object.assign(new Error('{"error":"bad"}'), { status: 400 })),
  ).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(TargetError);
  expect(refused).toMatchObject({
    message: 'The demo CRM refused POST /customers/C-1/notes: HTTP 400 {"error":"bad"}',
    status: 400,
    retryable: false,
  });
  const unreachable = await callTarget('SSM', 'PutParameter', () => Promise.reject(socket('ECONNRESET'))).catch(
    (e: unknown) => e,
  );
  expect(unreachable).toMatchObject({
    message: expect.stringMatching(/^SSM could not be reached for PutParameter/),
    retryable: true,
  });
  // Errors the task handles itself pass through untouched, and so does a TargetError the call throws itself.
  const missing = aws('ParameterNotFound', 400);
  await expect(
    callTarget('SSM', 'GetParameter', () => Promise.reject(missing), { passThrough: named('ParameterNotFound') }),
  ).rejects.toBe(missing);
  const own = new TargetError('refusing: only 10 refundable', 400, false);
  await expect(callTarget('Stripe', 'refunds.create', () => Promise.reject(own))).rejects.toBe(own);
  await expect(callTarget('Stripe', 'charges.retrieve', async () => 'ok')).resolves.toBe('ok');
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-26T10:00:00Z');
  test.each([
    ['seconds', '4', 4000],
    ['fractions of a second, never under the executions’ first interval', '0.25', 1000],
    ['zero: not a tight loop', '0', 1000],
    ['an HTTP date', 'Thu, 26 Nov 2026 10:00:07 GMT', 7000],
    ['a date already past', 'Thu, 26 Nov 2026 09:00:00 GMT', 1000],
    ['a day, cut to the longest honoured', '86400', MAX_RETRY_AFTER_MS],
  ])('%s: %s → %s ms', (_label, value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  test('anything else is no Retry-After at all, never a crash nor a wait past the cap', () => {
    for (const v of ['', 'soon', '-5', 'NaN', '1e999', 'x'.repeat(100), undefined, 42, null])
      expect(parseRetryAfter(v, now)).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), (v) => {
        const ms = parseRetryAfter(v, now);
        return ms === undefined || (Number.isInteger(ms) && ms >= 1000 && ms <= MAX_RETRY_AFTER_MS);
      }),
    );
  });

  test('a throttled or 5xx call says when to come back, and its Temporal failure carries it as the next retry delay', async () => {
    const throttled = Object.assign(new Error('slow down'), {
      status: 429,
      headers: new Headers({ 'retry-after': '3' }),
    });
    const err = await callTarget('the demo CRM', 'POST /x', () => Promise.reject(throttled)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).retryAfterMs).toBe(3000);
    expect((err as TargetError).message).toMatch(/asked for 3 s before the next try/);
    expect((err as TargetError).toFailure().nextRetryDelay).toBe(3000);
    // A refusal that will not pass is not retried, whatever it says about when.
    const refused = Object.assign(new Error('no'), { status: 400, headers: { 'retry-after': '3' } });
    const final = (await callTarget('t', 'w', () => Promise.reject(refused)).catch((e: unknown) => e)) as TargetError;
    expect([final.retryable, final.retryAfterMs, final.toFailure().nonRetryable]).toEqual([false, undefined, true]);
  });
});
