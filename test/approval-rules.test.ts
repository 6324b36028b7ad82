import { generateKeyPairSync, randomBytes, sign, verify, createPublicKey, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  ApprovalProcess,
  MAX_STALE_PLANS,
  SIGNATURE_FRESHNESS_MS,
  checkDecisionShape,
  checkQuorum,
  judgeDecision,
  type ApprovalState,
  type Ballot,
  type RecordedDecision,
} from '../common/approval-rules';
import { parseSigningTime } from '../common/identifiers';
import { signedText } from '../common/signing';
import type { DecisionPayload, Plan, SignedDecision } from '../common/types';
import { verifyEd25519 } from '../workflows/verify-ed25519';

// Point 4 of the security issue: a decision is either refused or obeyed. The approval rules are one pure module,
// run by the workflow on each decision and by `executeAction` over the history; here they are driven through random
// interleavings of approvals, rejections, duplicates, replays, forgeries, expiry and plan changes.

const ACTION = 'act-0123456789abcdef01234567';
const RUN = '0190a6e8-1111-7000-8000-000000000001';
const WINDOW_MS = 60 * 60 * 1000;
const T0 = Date.parse('2026-11-25T12:00:00.000Z');

/** People of the model: who is registered, who may approve, who asked. */
const PEOPLE = ['bob', 'carol', 'dave', 'alice', 'mallory'] as const;
const PERMITTED = new Set(['bob', 'carol', 'dave']);
const EXCLUDED = ['alice']; // the user the action is for
const keys = Object.fromEntries(PEOPLE.map((p) => [p, generateKeyPairSync('ed25519')])) as Record<
  string,
  { privateKey: KeyObject; publicKey: KeyObject }
>;
const raw = (k: KeyObject) => k.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
const KEYRING = Object.fromEntries(PEOPLE.map((p) => [p, raw(keys[p].publicKey)]));
const nodeVerify = (text: string, signature: string, publicKey: string) =>
  verify(
    null,
    Buffer.from(text),
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey, 'base64')]),
      format: 'der',
      type: 'spki',
    }),
    Buffer.from(signature, 'base64'),
  );

const signAs = (who: string, payload: DecisionPayload): SignedDecision => ({
  payload,
  signature: sign(null, Buffer.from(signedText('airlock.decision.v1', payload)), keys[who].privateKey).toString(
    'base64',
  ),
});

const plan = (n: number): Plan => ({
  target: 't',
  summary: `plan ${n}`,
  sideEffects: [],
  before: n,
  after: n + 1,
  diff: [],
  hash: n.toString(16).padStart(64, '0'),
  plannedAt: '',
});

function newState(): ApprovalState {
  return {
    id: ACTION,
    runId: RUN,
    status: 'awaiting_approval',
    plan: plan(1),
    stalePlans: [],
    approvalsRequired: 2,
    approvedBy: [],
    approvals: [],
    refusalsNotKept: 0,
    refusedBeforeHistory: { total: 0, byCode: {} },
  };
}

describe('signing times', () => {
  test.each([
    'yesterday',
    '',
    '2026-13-45T99:99:99Z',
    '2026-11-25T12:00:00',
    '2026-11-25 12:00:00Z',
    'NaN',
    '2026-11-25T12:00:00.000+01:00',
  ])('%j does not parse', (t) => {
    expect(parseSigningTime(t)).toBeUndefined();
  });
  test('an ISO 8601 UTC time parses', () => {
    expect(parseSigningTime('2026-11-25T12:00:00.000Z')).toBe(T0);
    expect(parseSigningTime('2026-11-25T12:00:00Z')).toBe(T0);
  });
});

describe('the shape of a decision is bounded before anything else', () => {
  const good = () =>
    signAs('bob', {
      approver: 'bob',
      actionId: ACTION,
      runId: RUN,
      planHash: plan(1).hash,
      decision: 'approve',
      time: new Date(T0).toISOString(),
      nonce: randomBytes(16).toString('hex'),
    });
  test('a signed decision of the right shape passes', () => expect(checkDecisionShape(good()).ok).toBe(true));
  test.each([
    [
      'a 1.1 MB reason',
      (d: SignedDecision) => ({ ...d, payload: { ...d.payload, reason: 'x'.repeat(1_100_000) } }),
      'oversized',
    ],
    ['a huge signature', (d: SignedDecision) => ({ ...d, signature: 'A'.repeat(3000) }), 'oversized'],
    ['an extra field', (d: SignedDecision) => ({ ...d, payload: { ...d.payload, extra: 1 } }), 'malformed'],
    ['an extra top-level field', (d: SignedDecision) => ({ ...d, more: 1 }), 'malformed'],
    [
      'an escape sequence in the approver',
      (d: SignedDecision) => ({ ...d, payload: { ...d.payload, approver: 'bob\u001b[2J' } }),
      'malformed',
    ],
    ['an unparseable time', (d: SignedDecision) => ({ ...d, payload: { ...d.payload, time: 'soon' } }), 'malformed'],
    ['a short plan hash', (d: SignedDecision) => ({ ...d, payload: { ...d.payload, planHash: 'abc' } }), 'malformed'],
    ['the undecodable marker', () => ({ __airlockUndecodable: true, reason: 'not encrypted' }), 'undecodable'],
  ])('%s is refused', (_what, change, code) => {
    const verdict = checkDecisionShape(change(good()));
    expect(verdict).toMatchObject({ ok: false, code });
  });
});

test('the validator’s pure-JS Ed25519 agrees with Node’s, and refuses what is not a signature', () => {
  const d = signAs('bob', {
    approver: 'bob',
    actionId: ACTION,
    runId: RUN,
    planHash: plan(1).hash,
    decision: 'approve',
    time: new Date(T0).toISOString(),
    nonce: 'n'.repeat(16),
  });
  const text = signedText('airlock.decision.v1', d.payload);
  expect(verifyEd25519(text, d.signature, KEYRING.bob)).toBe(true);
  expect(verifyEd25519(text, d.signature, KEYRING.carol)).toBe(false);
  expect(verifyEd25519(`${text} `, d.signature, KEYRING.bob)).toBe(false);
  expect(verifyEd25519(signedText('airlock.proposal.v1', d.payload), d.signature, KEYRING.bob)).toBe(false); // another purpose
  for (const junk of ['', 'AA==', '!!!', 'A'.repeat(88)]) expect(verifyEd25519(text, junk, KEYRING.bob)).toBe(false);
});

test('a rejection in flight when the quorum is reached is judged as it arrived, and wins', () => {
  const state = newState();
  state.approvalsRequired = 1;
  const process = new ApprovalProcess(state);
  process.configure({ excluded: EXCLUDED, windowMs: WINDOW_MS, keys: KEYRING, verify: nodeVerify });
  process.open(T0);
  const base = { actionId: ACTION, runId: RUN, planHash: plan(1).hash, time: new Date(T0).toISOString() };
  const facts = (who: string) => ({ approverId: who, signatureValid: true, permitted: true });
  // Both arrive before either is judged (each handler awaits its checks): the approval alone would make a quorum.
  const bob = signAs('bob', { ...base, approver: 'bob', decision: 'approve', nonce: 'a'.repeat(16) });
  const carol = signAs('carol', {
    ...base,
    approver: 'carol',
    decision: 'reject',
    reason: 'no',
    nonce: 'b'.repeat(16),
  });
  const [a, c] = [process.arrive(bob, T0), process.arrive(carol, T0)];
  if ('refused' in a || 'refused' in c) throw new Error('both should be open');
  process.receive(bob, facts('bob'), a.arrival);
  expect(process.outcome(T0)).toBe('approved');
  process.close(); // the workflow stops taking decisions, then waits for those in flight
  process.receive(carol, facts('carol'), c.arrival);
  expect(process.outcome(T0)).toBe('rejected');
});

/** One step of a random interleaving. */
type Step =
  | {
      kind: 'decide';
      who: (typeof PEOPLE)[number] | 'eve';
      decision: 'approve' | 'reject';
      plan: 'current' | 'stale' | 'other';
      time: 'fresh' | 'skewed' | 'stale' | 'unparseable';
      forged: boolean;
      reason: boolean;
      replay: boolean;
    }
  | { kind: 'tick'; ms: number }
  | { kind: 'target_changes' };

/** Mostly well-meaning decisions (so that actions get somewhere), with every kind of bad one mixed in. */
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('decide' as const),
      who: fc.constantFrom(
        'bob',
        'carol',
        'dave',
        'bob',
        'carol',
        'dave',
        'bob',
        'carol',
        'dave',
        'alice',
        'mallory',
        'eve',
      ),
      decision: fc.constantFrom('approve', 'approve', 'approve', 'approve', 'reject'),
      plan: fc.constantFrom(
        'current',
        'current',
        'current',
        'current',
        'current',
        'current',
        'current',
        'stale',
        'other',
      ),
      time: fc.constantFrom(
        'fresh',
        'fresh',
        'fresh',
        'fresh',
        'fresh',
        'fresh',
        'fresh',
        'skewed',
        'stale',
        'unparseable',
      ),
      forged: fc.constantFrom(false, false, false, false, false, true),
      reason: fc.boolean(),
      replay: fc.constantFrom(false, false, false, false, true),
    }) as fc.Arbitrary<Step>,
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: WINDOW_MS / 2 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'target_changes' as const }) },
);

interface Run {
  ending: 'executed' | 'rejected' | 'expired' | 'stale' | 'waiting';
  state: ApprovalState;
  executed?: { at: number; planHash: string; expiresAt: number };
  /** Each decision as the history would hold it: what was sent, when, and the workflow's answer. */
  history: RecordedDecision[];
}

/**
 * Drives the approval stage exactly as the workflow does (screen in the validator, judge in the handler, outcome
 * after each message, close before execution, re-plan inside execution), over a random interleaving.
 */
function drive(required: number, steps: Step[]): Run {
  const state = newState();
  state.approvalsRequired = required;
  const process = new ApprovalProcess(state);
  process.configure({ excluded: EXCLUDED, windowMs: WINDOW_MS, keys: KEYRING, verify: nodeVerify });
  let now = T0;
  let planNo = 1;
  let targetChanged = false;
  const sent: SignedDecision[] = [];
  const history: RecordedDecision[] = [];
  process.open(now);

  for (const step of steps) {
    if (step.kind === 'tick') now += step.ms;
    if (step.kind === 'target_changes') targetChanged = true;
    if (step.kind === 'decide') {
      let signed: SignedDecision;
      if (step.replay && sent.length) signed = sent[sent.length - 1];
      else {
        const planHash =
          step.plan === 'current'
            ? state.plan!.hash
            : step.plan === 'stale'
              ? (state.stalePlans.at(-1)?.hash ?? plan(0).hash)
              : plan(999).hash;
        const time =
          step.time === 'fresh'
            ? now - 1000
            : step.time === 'skewed'
              ? now + SIGNATURE_FRESHNESS_MS - 1
              : step.time === 'stale'
                ? now - SIGNATURE_FRESHNESS_MS - 1
                : NaN;
        const payload: DecisionPayload = {
          approver: step.who,
          actionId: ACTION,
          runId: RUN,
          planHash,
          decision: step.decision,
          ...(step.reason ? { reason: 'because' } : {}),
          time: Number.isNaN(time) ? '2026-11-25T25:61:00Z' : new Date(time).toISOString(),
          nonce: randomBytes(16).toString('hex'),
        };
        const signer = step.who === 'eve' ? 'mallory' : step.forged ? 'mallory' : step.who;
        signed = signAs(signer, payload);
        sent.push(signed);
      }
      // The validator, then the handler (whose registry and policy answers are the facts).
      if (process.screen(signed, now).accepted) {
        const who = signed.payload.approver;
        const facts = {
          approverId: who in KEYRING ? who : undefined,
          signatureValid:
            who in KEYRING &&
            nodeVerify(signedText('airlock.decision.v1', signed.payload), signed.signature, KEYRING[who]),
          permitted: PERMITTED.has(who),
        };
        const arrived = process.arrive(signed, now);
        const attempt = 'refused' in arrived ? arrived.refused : process.receive(signed, facts, arrived.arrival);
        history.push({
          signed,
          receivedAt: now,
          acceptedByWorkflow: attempt.accepted,
          facts: { ...facts, nonceFresh: true },
        });
      }
    }
    // The workflow's condition, after every message and timer.
    const outcome = process.outcome(now);
    if (outcome === 'rejected' || outcome === 'expired') return { ending: outcome, state, history };
    if (outcome === 'approved') {
      process.close();
      const expiresAt = Date.parse(state.expiresAt!);
      if (targetChanged) {
        targetChanged = false;
        if (!process.replanned(plan(++planNo), now)) return { ending: 'stale', state, history };
        continue;
      }
      return { ending: 'executed', state, history, executed: { at: now, planHash: state.plan!.hash, expiresAt } };
    }
  }
  return { ending: 'waiting', state, history };
}

test('property: never executes with an accepted rejection, without quorum on the executed plan, after expiry, or on a bad time', () => {
  const endings = new Map<string, number>();
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.array(stepArb, { minLength: 20, maxLength: 80 }),
      (required, steps) => {
        const run = drive(required, steps);
        endings.set(run.ending, (endings.get(run.ending) ?? 0) + 1);
        const accepted = run.state.approvals.filter((a) => a.accepted);
        // Nothing accepted was signed at a time that does not parse, or far from its arrival.
        for (const a of accepted) {
          const t = parseSigningTime(a.signedAt);
          expect(t).toBeDefined();
          expect(Math.abs((t as number) - Date.parse(a.at))).toBeLessThanOrEqual(SIGNATURE_FRESHNESS_MS);
          expect(EXCLUDED).not.toContain(a.approver);
          expect(PERMITTED.has(a.approver)).toBe(true);
        }
        if (accepted.some((a) => a.decision === 'reject')) expect(run.ending).toBe('rejected');
        if (run.ending !== 'executed') return;
        const { executed } = run;
        // Quorum of distinct, permitted approvers on exactly the executed plan, before the window closed.
        expect(new Set(run.state.approvedBy).size).toBe(run.state.approvedBy.length);
        expect(run.state.approvedBy.length).toBeGreaterThanOrEqual(required);
        for (const who of run.state.approvedBy) {
          expect(
            accepted.some((a) => a.approver === who && a.decision === 'approve' && a.planHash === executed!.planHash),
          ).toBe(true);
        }
        expect(executed!.at).toBeLessThan(executed!.expiresAt);
        // executeAction, reading the same history, agrees.
        const check = checkQuorum({
          decisions: run.history,
          actionId: ACTION,
          runId: RUN,
          planHash: executed!.planHash,
          required,
          excluded: EXCLUDED,
          windowMs: WINDOW_MS,
          now: executed!.at,
        });
        expect(check.ok).toBe(true);
      },
    ),
    { numRuns: 1500 },
  );
  // The interleavings reach every ending, so the properties above are not vacuous.
  for (const ending of ['executed', 'rejected', 'expired', 'stale', 'waiting'])
    expect([ending, (endings.get(ending) ?? 0) > 10]).toEqual([ending, true]);
});

test('property: executeAction’s re-check is not fooled by a lying workflow: forged or refused approvals never count, a valid rejection always blocks', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.array(stepArb, { minLength: 20, maxLength: 80 }),
      fc.constantFrom('honest', 'accepts all', 'refuses rejections'),
      (required, steps, workflow) => {
        const run = drive(required, steps);
        // A rogue worker's workflow may answer anything: all "accepted", or every rejection "refused".
        const history = run.history.map((d) => ({
          ...d,
          acceptedByWorkflow:
            workflow === 'accepts all'
              ? true
              : workflow === 'refuses rejections' && d.signed.payload.decision === 'reject'
                ? false
                : d.acceptedByWorkflow,
        }));
        const planHash = run.state.plan!.hash;
        const check = checkQuorum({
          decisions: history,
          actionId: ACTION,
          runId: RUN,
          planHash,
          required,
          excluded: EXCLUDED,
          windowMs: WINDOW_MS,
          now: T0 + WINDOW_MS,
        });
        // The honest workflow accepted a rejection: whatever the liar answers, execution is refused.
        if (run.state.approvals.some((a) => a.accepted && a.decision === 'reject'))
          expect(check).toMatchObject({ ok: false, code: 'rejected' });
        if (!check.ok) return;
        expect(check.approvers.length).toBeGreaterThanOrEqual(required);
        for (const who of check.approvers) {
          const d = history.find(
            (x) =>
              x.signed.payload.approver === who &&
              x.signed.payload.planHash === planHash &&
              x.signed.payload.decision === 'approve',
          );
          expect(d).toBeDefined();
          expect(PERMITTED.has(who)).toBe(true);
          expect(EXCLUDED).not.toContain(who);
          expect(
            nodeVerify(signedText('airlock.decision.v1', d!.signed.payload), d!.signed.signature, KEYRING[who]),
          ).toBe(true);
        }
      },
    ),
    { numRuns: 1500 },
  );
});

test('an action whose plan keeps going stale gives up after the limit', () => {
  const steps: Step[] = [];
  for (let i = 0; i < MAX_STALE_PLANS; i++) {
    steps.push({ kind: 'target_changes' });
    for (const who of ['bob', 'carol'] as const)
      steps.push({
        kind: 'decide',
        who,
        decision: 'approve',
        plan: 'current',
        time: 'fresh',
        forged: false,
        reason: false,
        replay: false,
      });
  }
  const run = drive(2, steps);
  expect(run.ending).toBe('stale');
  expect(run.state.stalePlans).toHaveLength(MAX_STALE_PLANS);
});

test('judgeDecision names the first rule a decision breaks', () => {
  const ballot: Ballot = {
    actionId: ACTION,
    runId: RUN,
    status: 'awaiting_approval',
    deciding: true,
    planHash: plan(1).hash,
    expiresAt: T0 + WINDOW_MS,
    excluded: EXCLUDED,
    approvedBy: [],
    required: 1,
  };
  const payload: DecisionPayload = {
    approver: 'bob',
    actionId: ACTION,
    runId: RUN,
    planHash: plan(1).hash,
    decision: 'approve',
    time: new Date(T0).toISOString(),
    nonce: 'n'.repeat(16),
  };
  const ok = { approverId: 'bob', signatureValid: true, permitted: true, nonceFresh: true };
  const code = (p: Partial<DecisionPayload>, f: Partial<typeof ok> = {}, b: Partial<Ballot> = {}, at = T0) => {
    const v = judgeDecision({ ...payload, ...p }, { ...ok, ...f }, { ...ballot, ...b }, at);
    return v.accepted ? 'accepted' : v.code;
  };
  expect(code({})).toBe('accepted');
  expect(code({}, {}, { deciding: false })).toBe('not_awaiting_approval');
  expect(code({}, {}, {}, T0 + WINDOW_MS)).toBe('expired');
  expect(code({}, { approverId: undefined })).toBe('unknown_key');
  expect(code({}, { signatureValid: false })).toBe('bad_signature');
  expect(code({ runId: 'other-run-000' })).toBe('wrong_action');
  expect(code({}, { nonceFresh: false })).toBe('replayed_nonce');
  expect(code({ time: 'not a time' })).toBe('stale_signature');
  expect(code({ time: new Date(T0 - SIGNATURE_FRESHNESS_MS - 1).toISOString() })).toBe('stale_signature');
  expect(code({ approver: 'alice' }, { approverId: 'alice' })).toBe('self_approval');
  expect(code({ planHash: plan(2).hash })).toBe('wrong_plan_hash');
  expect(code({ planHash: plan(2).hash, decision: 'reject', reason: 'no' })).toBe('accepted'); // "no" to the action, whichever plan
  expect(code({ decision: 'reject' })).toBe('missing_reason');
  expect(code({}, { permitted: false })).toBe('not_permitted');
  expect(code({}, {}, { approvedBy: ['bob'] })).toBe('duplicate_approver');
});

test('refused approvals never use up a person’s rejection: the cap counts each kind apart', () => {
  const state = newState();
  const process = new ApprovalProcess(state);
  process.configure({ excluded: EXCLUDED, windowMs: WINDOW_MS, keys: KEYRING, verify: nodeVerify });
  process.open(T0);
  const decision = (kind: 'approve' | 'reject', n: number, planHash = plan(9).hash) =>
    signAs('bob', {
      approver: 'bob',
      actionId: ACTION,
      runId: RUN,
      planHash,
      decision: kind,
      time: new Date(T0).toISOString(),
      nonce: `${kind}-${n}`.padEnd(16, 'x'),
      ...(kind === 'reject' ? { reason: 'no' } : {}),
    });
  const facts = { approverId: 'bob', signatureValid: true, permitted: true };
  for (let n = 0; n < 3; n++) {
    const d = decision('approve', n); // each names a plan that is not the current one: refused, recorded
    expect(process.screen(d, T0).accepted).toBe(true);
    const arrived = process.arrive(d, T0);
    if ('refused' in arrived) throw new Error('open');
    expect(process.receive(d, facts, arrived.arrival).refusal?.code).toBe('wrong_plan_hash');
  }
  expect(process.screen(decision('approve', 3), T0)).toMatchObject({ accepted: false, code: 'too_many_attempts' });
  const no = decision('reject', 0);
  expect(process.screen(no, T0).accepted).toBe(true);
  const arrived = process.arrive(no, T0);
  if ('refused' in arrived) throw new Error('open');
  expect(process.receive(no, facts, arrived.arrival).accepted).toBe(true);
  expect(process.outcome(T0)).toBe('rejected');
});
