import fc from 'fast-check';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { approvalForm, holdsAt } from '../policy/approval-thresholds';

const json = (text: string) => {
  const answer = cedar.policyToJson(text);
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
  return answer.json;
};

test('an approval rule splits into its base and its tests, whichever side the number is on', () => {
  const form = approvalForm(
    json(
      'forbid (principal, action, resource) when { resource.risk == "high" && 2 > context.approvals && context has user };',
    ),
  );
  expect(form?.tests).toEqual([{ op: '<', k: 2 }]);
  expect(form?.base.effect).toBe('permit');
  expect(JSON.stringify(form?.base)).not.toContain('approvals');
  const bare = approvalForm(json('permit (principal, action, resource) when { context.approvals >= 1 };'));
  expect(bare?.tests).toEqual([{ op: '>=', k: 1 }]);
  expect(bare?.base.conditions).toEqual([{ kind: 'when', body: { Value: true } }]);
  expect(approvalForm(json('permit (principal, action, resource);'))?.tests).toEqual([]);
});

test('approvals read any other way leave the policy to be asked once per number', () => {
  for (const text of [
    'permit (principal, action, resource) when { context.approvals == 1 || context.approvals == 3 };',
    'forbid (principal, action, resource) unless { context.approvals >= 2 };',
    'forbid (principal, action, resource) when { !(context.approvals >= 2) };',
    'permit (principal, action, resource) when { context.approvals + 1 > 2 };',
    'permit (principal, action, resource) when { if context has user then context.approvals > 0 else true };',
  ])
    expect([text, approvalForm(json(text))]).toEqual([text, undefined]);
});

test('tests hold exactly as the comparisons they were taken from (property)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('<', '<=', '>', '>=', '==', '!=' as const),
      fc.integer({ min: -2, max: 8 }),
      fc.nat(7),
      (op, k, n) => {
        const expected = { '<': n < k, '<=': n <= k, '>': n > k, '>=': n >= k, '==': n === k, '!=': n !== k }[op];
        expect(holdsAt([{ op, k }], n)).toBe(expected);
      },
    ),
  );
});
