import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/** A comparison of `context.approvals` with a whole number, as a policy's condition makes it. */
export interface ApprovalTest {
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  k: number;
}

/**
 * A policy split in two: its `base` (the same policy, as a permit, with every test of `context.approvals` taken out
 * of its conditions) and those tests. The policy applies to a request with `n` approvals exactly when its base
 * applies and every test holds for `n`, so one evaluation of the bases answers for every number of approvals.
 */
export interface ApprovalForm {
  base: cedar.PolicyJson;
  tests: ApprovalTest[];
}

type Expr = Record<string, unknown>;
const OPS = ['<', '<=', '>', '>=', '==', '!='] as const;
const FLIPPED: Record<ApprovalTest['op'], ApprovalTest['op']> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
  '==': '==',
  '!=': '!=',
};

/** Whether a node is `context.approvals`. */
function isApprovals(node: unknown): boolean {
  const access = (node as Expr | undefined)?.['.'] as { left?: Expr; attr?: unknown } | undefined;
  return access?.attr === 'approvals' && access.left?.Var === 'context';
}

/** Whether `context.approvals` appears anywhere under a node. */
function mentionsApprovals(node: unknown): boolean {
  if (isApprovals(node)) return true;
  if (Array.isArray(node)) return node.some(mentionsApprovals);
  return Boolean(node && typeof node === 'object' && Object.values(node).some(mentionsApprovals));
}

/** A conjunct that compares `context.approvals` with a literal whole number, as a test; else undefined. */
function asTest(node: Expr): ApprovalTest | undefined {
  for (const op of OPS) {
    const cmp = node[op] as { left?: Expr; right?: Expr } | undefined;
    if (!cmp) continue;
    const literal = (side?: Expr) => (Number.isSafeInteger(side?.Value) ? (side?.Value as number) : undefined);
    if (isApprovals(cmp.left) && literal(cmp.right) !== undefined) return { op, k: literal(cmp.right) as number };
    if (isApprovals(cmp.right) && literal(cmp.left) !== undefined)
      return { op: FLIPPED[op], k: literal(cmp.left) as number };
  }
  return undefined;
}

/** The conjuncts of an `&&` chain, in order. */
function conjuncts(node: Expr): Expr[] {
  const and = node['&&'] as { left: Expr; right: Expr } | undefined;
  return and ? [...conjuncts(and.left), ...conjuncts(and.right)] : [node];
}

/**
 * A policy's {@link ApprovalForm}, when `context.approvals` appears in it only as top-level conjuncts of `when`
 * conditions comparing it with a literal (`context.approvals >= 1`, `... < 2`): the form every approval rule takes.
 * Undefined otherwise (approvals read anywhere else, in an `unless`, under `||` or `!`): such a policy is asked
 * once per number of approvals, as before.
 */
export function approvalForm(policy: cedar.PolicyJson): ApprovalForm | undefined {
  const tests: ApprovalTest[] = [];
  const conditions: cedar.Clause[] = [];
  for (const clause of policy.conditions) {
    if (clause.kind !== 'when') {
      if (mentionsApprovals(clause.body)) return undefined;
      conditions.push(clause);
      continue;
    }
    const rest: Expr[] = [];
    for (const part of conjuncts(clause.body as unknown as Expr)) {
      const test = asTest(part);
      if (test) tests.push(test);
      else if (mentionsApprovals(part)) return undefined;
      else rest.push(part);
    }
    const body = rest.length ? rest.reduce((left, right) => ({ '&&': { left, right } })) : ({ Value: true } as Expr);
    conditions.push({ kind: 'when', body: body as unknown as cedar.Expr });
  }
  return { base: { ...policy, effect: 'permit', annotations: {}, conditions }, tests };
}

/** Whether every test holds with `n` approvals. */
export function holdsAt(tests: readonly ApprovalTest[], n: number): boolean {
  return tests.every(({ op, k }) =>
    op === '<'
      ? n < k
      : op === '<='
        ? n <= k
        : op === '>'
          ? n > k
          : op === '>='
            ? n >= k
            : op === '=='
              ? n === k
              : n !== k,
  );
}
