import { auditTrail } from '../audit/audit-trail';
import { JsonlAuditLog } from '../audit/audit-log';
import { ADMISSION_PLAN_BUDGET_MS } from '../activities/create-activities';
import { startHarness, type Harness } from './support/harness';
import { sessionsOf } from './support/moto-sessions';
import { testEnv } from './support/test-env';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const alice = { agent: 'support-bot', user: 'alice' };
const customer = (id: string) => ({ ...h.crm.store.customers.get(id)! });
const notesOf = (id: string) => h.crm.store.notes.filter((n) => n.customerId === id).map((n) => n.text);
/** Proposes a note (which needs no approval) and waits for its end. */
const noteFor = async (who: typeof alice, customerId: string, note: string) => {
  const { id } = await h.airlock.propose({ task: 'crm.add_note_to_customer', input: { customerId, note }, ...who });
  return { id, final: await h.airlock.result(id, { timeoutMs: 30_000 }) };
};

test('a low-risk note runs to succeeded with no approval and lands in the CRM once', async () => {
  const { id, final } = await noteFor(alice, 'C-1001', 'Called about renewal');

  expect(final.status).toBe('succeeded');
  expect(final.approvalsRequired).toBe(0);
  expect(final.approvals).toEqual([]);
  expect(notesOf('C-1001')).toEqual(['Called about renewal']);
  const note = h.crm.store.notes.find((n) => n.text === 'Called about renewal')!;
  expect(final.result?.output).toEqual({ noteId: note.id, customerId: 'C-1001', createdAt: note.createdAt });
  expect(final.result?.credentials).toMatchObject({ sessionName: id, sourceIdentity: 'alice', durationSeconds: 900 });
  // Admitted, planned and executed in one step: the workflow sees it validating, then succeeded.
  expect(final.transitions.map((t) => t.status)).toEqual(['validating', 'succeeded']);

  // What STS was really asked for: a plan session that may read only the read-only token, and an execute session
  // that may read the read-write one and, for reading the target back after the effect, the read-only one, each with
  // the inline policy the least-privilege tests simulate.
  const sessions = await sessionsOf(h.motoEndpoint, id);
  expect(sessions.map((s) => s.session_name).sort()).toEqual([id, `${id}.plan`]);
  for (const session of sessions) {
    const secrets = session.session_name === id ? ['api-token', 'read-token'] : ['read-token'];
    expect(JSON.parse(session.policy!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadTaskSecrets',
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: secrets.map(
            (secret) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:airlock/demo-crm/${secret}-??????`,
          ),
          Condition: { DateLessThan: { 'aws:CurrentTime': expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
        },
      ],
    });
  }
});

test('an action that needs no approval costs two workflow tasks and one activity, as a bare workflow does, and loses nothing', async () => {
  const { id, final } = await noteFor(alice, 'C-1004', 'Two tasks, one activity');
  expect(final.status).toBe('succeeded');
  const events = (await h.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  const activityTypes = events
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  // Admission, the dry run, execution and the audit record in one activity; no local activity at all.
  expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(2);
  expect(activityTypes).toEqual(['admitAndExecute']);
  expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toEqual([]);
  // Airlock's search attributes reach history once per task (the status is the workflow's from its first task,
  // whatever the starter set); Temporal adds its own record of the version (the patch) the run follows.
  const upserts = events.flatMap((e) => {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    return fields ? [Object.keys(fields).sort()] : [];
  });
  expect(upserts).toEqual([
    ['AirlockStatus'],
    ['TemporalChangeVersion'],
    ['AirlockAgent', 'AirlockRequester', 'AirlockRisk', 'AirlockStatus', 'AirlockTask'],
  ]);

  // Nothing the separate steps used to record is missing: the trail reads admission, plan and execution from the
  // activity's result, and the audit log holds the execution record and the final one, written by that activity.
  const trail = await auditTrail(h.client, id);
  expect(trail.map((e) => e.kind)).toEqual(
    expect.arrayContaining(['proposed', 'validated', 'policy_decided', 'planned', 'executed', 'finished']),
  );
  expect(trail.find((e) => e.kind === 'planned')?.summary).toContain(final.plan!.hash.slice(0, 12));
  const records = new JsonlAuditLog(h.auditLogPath).read().filter((r) => r.actionId === id);
  expect(records.map((r) => [r.kind, r.status])).toEqual([
    ['execution', 'executing'],
    ['final', 'succeeded'],
  ]);
  // Its events are those the activity witnessed (test/audit-log.test.ts), with the plan and result the action holds.
  const recorded = records[1].events as { kind: string; data: unknown }[];
  expect(recorded.find((e) => e.kind === 'planned')?.data).toEqual(final.plan);
  expect(recorded.find((e) => e.kind === 'executed')?.data).toEqual(final.result);
  expect(recorded.at(-1)?.data).toMatchObject({ status: 'succeeded', executed: true, executionStarted: true });
  // A second run of the same id cannot add to it, and the log still verifies.
  expect(new JsonlAuditLog(h.auditLogPath).verify().ok).toBe(true);
});

test('a plan that fails in admission is made again by the activity’s retry, and the action goes on', async () => {
  h.crm.failReads(503, 1);
  const { id, final } = await noteFor(alice, 'C-1004', 'After a hiccup');
  expect(final.status).toBe('succeeded');
  expect(notesOf('C-1004')).toContain('After a hiccup');
  const trail = await auditTrail(h.client, id);
  expect(trail.filter((e) => e.kind === 'planned')).toHaveLength(1);
  expect(trail.filter((e) => e.kind === 'execution_failed')).toEqual([]);
});

test('a target slower than admission’s budget for the plan of an action that needs approval leaves the plan to the plan step', async () => {
  void h.crm.slowReads(ADMISSION_PLAN_BUDGET_MS + 1_000, 1); // admission's read; planAction's is quick
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { tier: 'gold' } },
    ...alice,
  });
  expect(await h.airlock.waitFor(id, ['awaiting_approval'], { timeoutMs: 30_000 })).toBe('awaiting_approval');
  const trail = await auditTrail(h.client, id);
  expect(trail.filter((e) => e.kind === 'planned')).toHaveLength(1);
  expect(trail.find((e) => e.kind === 'validated')?.data).not.toHaveProperty('plan');
  await h.client.workflow.getHandle(id).cancel();
});

test('a high-risk update waits in awaiting_approval, then succeeds after one approval', async () => {
  const before = customer('C-1002');
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1002', changes: { tier: 'gold', email: 'grace@navy.example' } },
    ...alice,
    reason: 'customer asked',
  });
  expect(await h.airlock.waitFor(id, ['awaiting_approval'])).toBe('awaiting_approval');

  const pending = await h.airlock.get(id);
  expect(pending.policy).toMatchObject({
    decision: 'allow',
    approvalsRequired: 1,
    eligibleApprovers: ['bob', 'carol'],
    // The task's facts the decision was made on, kept with it (history, audit).
    facts: { changedFields: ['email', 'tier'] },
  });
  expect(pending.plan?.diff).toEqual([
    { path: 'email', op: 'change', before: before.email, after: 'grace@navy.example' },
    { path: 'tier', op: 'change', before: 'silver', after: 'gold' },
  ]);
  expect(pending.plan?.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(customer('C-1002')).toEqual(before); // nothing happens before approval
  const listed = await h.airlock.list({ status: 'awaiting_approval' });
  expect(listed.map((a) => a.id)).toContain(id);

  const attempt = await h.decide(id, 'bob', 'approve', { reason: 'verified by phone' });
  expect(attempt.accepted).toBe(true);
  const final = await h.airlock.result(id, { timeoutMs: 30_000 });
  expect(final.status).toBe('succeeded');
  expect(final.approvedBy).toEqual(['bob']);
  expect(customer('C-1002')).toEqual({ ...before, tier: 'gold', email: 'grace@navy.example' });
});

test('a rejection ends the action rejected and the target keeps its state', async () => {
  const before = customer('C-1003');
  const writes = h.crm.store.writes;
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1003', changes: { name: 'A. M. Turing' } },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const { plan } = await h.airlock.get(id);

  const noReason = await h.decide(id, 'carol', 'reject', { planHash: plan!.hash });
  expect(noReason.refusal?.code).toBe('missing_reason');
  const attempt = await h.decide(id, 'carol', 'reject', { reason: 'name change needs ID check' });
  expect(attempt.accepted).toBe(true);

  const final = await h.airlock.result(id);
  expect(final.status).toBe('rejected');
  expect(final.error?.message).toContain('name change needs ID check');
  expect(customer('C-1003')).toEqual(before);
  expect(h.crm.store.writes).toBe(writes);
  expect(await sessionsOf(h.motoEndpoint, id)).toHaveLength(1); // the read-only plan session only
});

test('a dry run ends planned with the plan as its result and changes nothing at the target', async () => {
  const before = customer('C-1004');
  const writes = h.crm.store.writes;
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { tier: 'platinum' } },
    ...alice,
    dryRun: true,
  });
  const final = await h.airlock.result(id);

  expect(final.status).toBe('planned');
  expect(final.plan?.diff).toEqual([{ path: 'tier', op: 'change', before: 'gold', after: 'platinum' }]);
  expect(final.result).toBeUndefined();
  expect(customer('C-1004')).toEqual(before);
  expect(h.crm.store.writes).toBe(writes);
  expect((await sessionsOf(h.motoEndpoint, id)).map((s) => s.session_name)).toEqual([`${id}.plan`]);
});

test('an unknown task ends invalid, naming the registered tasks', async () => {
  const { id } = await h.airlock.propose({ task: 'crm.delete_everything', input: {}, ...alice });
  const final = await h.airlock.result(id);
  expect(final.status).toBe('invalid');
  expect(final.issues).toEqual([
    expect.objectContaining({
      path: ['task'],
      code: 'unknown_task',
      message: expect.stringContaining('crm.add_note_to_customer'),
    }),
  ]);
  expect(await sessionsOf(h.motoEndpoint, id)).toEqual([]);
});

test('schema-invalid input ends invalid with the zod issues, and nothing is touched', async () => {
  const writes = h.crm.store.writes;
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'X-1', changes: {}, extra: true },
    ...alice,
  });
  const final = await h.airlock.result(id);
  expect(final.status).toBe('invalid');
  const byPath = Object.fromEntries((final.issues ?? []).map((i) => [i.path.join('.'), i]));
  expect(byPath['input.customerId'].message).toContain('C-1001');
  expect(byPath['input.changes'].message).toContain('at least one of');
  expect(byPath['input'].code).toBe('unrecognized_keys');
  expect(h.crm.store.writes).toBe(writes);
  expect(await sessionsOf(h.motoEndpoint, id)).toEqual([]);
});

test('a proposal no policy permits ends denied, says why, and mints no credentials', async () => {
  const forUnknownUser = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1005', note: 'x' },
    agent: 'support-bot',
    user: 'mallory',
  });
  const byOtherAgent = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1005', note: 'x' },
    agent: 'other-bot',
    user: 'alice',
  });
  for (const { id } of [forUnknownUser, byOtherAgent]) {
    const final = await h.airlock.result(id);
    expect(final.status).toBe('denied');
    expect(final.error?.message).toMatch(/no policy permits/);
    expect(await sessionsOf(h.motoEndpoint, id)).toEqual([]);
  }
  expect(notesOf('C-1005')).toEqual([]);
});

test('wrong-plan-hash, self- and non-member approvals are refused, recorded and audited; the target is untouched', async () => {
  const before = customer('C-1005');
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1005', changes: { phone: '+31 20 555 9999', tier: 'platinum' } },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const { plan } = await h.airlock.get(id);
  const hash = plan!.hash;

  const refused = [
    await h.decide(id, 'bob', 'approve', { planHash: '0'.repeat(64) }),
    await h.decide(id, 'alice', 'approve', { planHash: hash }),
    await h.decide(id, 'support-bot', 'approve', { planHash: hash }), // an agent's key is no person's key
    await h.decide(id, 'mallory', 'approve', { planHash: hash }),
  ];
  expect(refused.map((a) => [a.accepted, a.refusal?.code, a.recorded !== false])).toEqual([
    [false, 'wrong_plan_hash', true],
    [false, 'self_approval', true],
    [false, 'unknown_key', false],
    [false, 'not_permitted', true],
  ]);
  const state = await h.airlock.get(id);
  expect(state.status).toBe('awaiting_approval');
  expect(state.approvedBy).toEqual([]);
  expect(customer('C-1005')).toEqual(before);

  const audit = await auditTrail(h.client, id);
  const recorded = audit.filter((e) => e.kind === 'decision_recorded').map((e) => e.summary);
  expect(recorded).toEqual([
    expect.stringMatching(/approve by bob REFUSED \(wrong_plan_hash\)/),
    expect.stringMatching(/approve by alice REFUSED \(self_approval\)/),
    expect.stringMatching(/approve by mallory REFUSED \(not_permitted\)/),
  ]);

  await h.decide(id, 'carol', 'approve', { planHash: hash });
  expect((await h.airlock.result(id)).status).toBe('succeeded');
  expect(customer('C-1005').phone).toBe('+31 20 555 9999');
  const kinds = (await auditTrail(h.client, id)).map((e) => e.kind);
  expect(kinds).toEqual(
    expect.arrayContaining([
      'proposed',
      'validated',
      'policy_decided',
      'planned',
      'approval_window_opened',
      'executed',
      'finished',
    ]),
  );
});

test('the same idempotency key twice gives one action and one note; a different proposal under it is refused', async () => {
  const proposal = {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1004', note: 'idempotent note' },
    ...alice,
    idempotencyKey: 'ticket-4711',
  };
  const first = await h.airlock.propose(proposal);
  await h.airlock.result(first.id);
  const second = await h.airlock.propose(proposal);

  expect(second).toEqual({ id: first.id, status: 'succeeded', existing: true });
  expect(notesOf('C-1004').filter((t) => t === 'idempotent note')).toHaveLength(1);
  await expect(
    h.airlock.propose({ ...proposal, input: { customerId: 'C-1004', note: 'something else' } }),
  ).rejects.toMatchObject({
    type: 'AIRLOCK_IDEMPOTENCY_CONFLICT',
  });
  // Another agent using the same key is another action.
  const other = await h.airlock.propose({ ...proposal, agent: 'other-bot' });
  expect(other.id).not.toBe(first.id);
});

test('a pending action survives a worker restart and completes exactly once', async () => {
  const writes = h.crm.store.writes;
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1001', changes: { tier: 'platinum' } },
    ...alice,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const { plan } = await h.airlock.get(id);

  await h.stopWorker();
  const decision = h.decide(id, 'bob', 'approve', { planHash: plan!.hash }); // sent while no worker runs
  await new Promise((r) => setTimeout(r, 500));
  await h.startWorker(); // a new worker picks the action up from history
  expect((await decision).accepted).toBe(true);

  const final = await h.airlock.result(id);
  expect(final.status).toBe('succeeded');
  expect(customer('C-1001').tier).toBe('platinum');
  expect(h.crm.store.writes).toBe(writes + 1);
  expect((await sessionsOf(h.motoEndpoint, id)).filter((s) => s.session_name === id)).toHaveLength(1);
});

test('a dry run is a preview: policy decides who may preview what, and the plan reads with a token that cannot write', async () => {
  // ops-bot may change parameters, but policy lets it preview nothing of the CRM.
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1003', changes: { tier: 'gold' } },
    agent: 'ops-bot',
    dryRun: true,
  });
  const denied = await h.airlock.result(id);
  expect(denied.status).toBe('denied');
  expect(denied.error?.message).toMatch(
    /no policy permits agent ops-bot acting for no user to preview crm.update_customer/,
  );
  expect(await sessionsOf(h.motoEndpoint, id)).toEqual([]);
  // The plan's token, read by the plan session, is refused for any write by the CRM itself.
  const write = await fetch(`${h.crm.url}/customers/C-1003`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${testEnv('crmReadToken')}`,
      'content-type': 'application/json',
      'idempotency-key': 'x',
    },
    body: '{"tier":"gold"}',
  });
  expect(write.status).toBe(403);
  expect(customer('C-1003').tier).toBe('bronze');
});
