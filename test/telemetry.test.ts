import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MetricReader, type DataPoint, type Histogram, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { AirlockClient } from '../client/airlock-client';
import { loadSigningKey } from '../crypto/signing-keys';
import { freePort } from '../stack/free-port';
import { METRIC, SPAN } from '../telemetry/names';
import { clientTelemetry, shutdownClientTelemetry, tracedClient } from '../telemetry/client-tracing';
import { startTelemetry, telemetryFromEnv, type AirlockTelemetry } from '../telemetry/telemetry';
import { startHarness, type Harness } from './support/harness';
import { testEnv } from './support/test-env';
import { launchChromium } from './support/browser';
import { startJaeger } from '../stack/jaeger';
import { REPO_ROOT } from '../stack/dev-config';

// Issue 14, traces and metrics: an action is one trace from the proposal to the target call, each stage a span, with
// identifiers on them and never an input value or a secret; the worker's metrics count actions, approval waits,
// refusals and executions. Spans and metrics are read where they would leave the process (an in-memory exporter and
// reader in place of OTLP), from a real worker, Temporal, moto and the demo CRM.
jest.setTimeout(120_000);

/** A metric reader tests collect from when they like. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new CollectingReader();
let telemetry: AirlockTelemetry;
let h: Harness;
beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'airlock-test',
    spanExporter: spans,
    exportEachSpan: true,
    metricReader: reader,
  });
  h = await startHarness({ telemetry });
});
afterAll(async () => {
  await h?.close();
  await telemetry?.shutdown();
});

/** A value no span or metric may ever hold: it stands for an input value. */
const MARKER = `canary-${randomUUID()}`;
/** A customer of this file's own, so that its id (an input value too) is found nowhere else. */
const CUSTOMER = `C-${String(Date.now()).slice(-8)}`;
/** An id no customer has: the target's error about it quotes it. */
const NOBODY = `C-9${String(Date.now()).slice(-8)}`;

/** The spans of one trace, with lookups by name and by parent. */
function tree(traceId: string) {
  const all = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  return {
    all,
    named: (name: string) => all.filter((s) => s.name === name),
    one(name: string): ReadableSpan {
      const found = all.filter((s) => s.name === name);
      if (found.length !== 1) throw new Error(`expected one ${name} span, found ${found.length}: ${names(all)}`);
      return found[0];
    },
    parentOf: (span: ReadableSpan) => (span.parentSpanId ? byId.get(span.parentSpanId) : undefined),
    childrenOf: (span: ReadableSpan) => all.filter((s) => s.parentSpanId === span.spanContext().spanId),
  };
}

/** A trace as an indented list of span names (AIRLOCK_PRINT_TRACE=1 prints the approved action's). */
function printTree(all: ReadableSpan[]): string {
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    const children = all.filter((x) => x.parentSpanId === parent);
    children.sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const s of children) {
      lines.push(`${'  '.repeat(depth)}${s.name}`);
      walk(s.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

const names = (list: ReadableSpan[]) => list.map((s) => s.name).join(', ');

/** Waits until the workflow's own span (exported through the sink when the run ends) of action `id` is in. */
async function workflowSpanOf(id: string): Promise<ReadableSpan> {
  for (let i = 0; i < 100; i++) {
    await telemetry.flush();
    const span = spans
      .getFinishedSpans()
      .find((s) => s.name === 'RunWorkflow:actionWorkflow' && s.attributes['airlock.action_id'] === id);
    if (span) return span;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no workflow span for ${id}; spans: ${names(spans.getFinishedSpans())}`);
}

/** Every data point of metric `name`. */
async function points(name: string): Promise<DataPoint<unknown>[]> {
  await telemetry.flush();
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]),
  );
}
const pointWith = async (name: string, attributes: Record<string, unknown>) =>
  (await points(name)).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));

/** One high-risk update, proposed with the marker in its input and reason, refused twice, then approved by bob. */
let approved: Promise<{ id: string; traceId: string }> | undefined;
function approvedAction() {
  approved ??= (async () => {
    h.crm.store.customers.set(CUSTOMER, {
      id: CUSTOMER,
      name: 'Grace Hopper',
      email: 'grace@example.com',
      phone: '+1 202 555 0102',
      tier: 'silver',
    });
    const { id } = await h.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: CUSTOMER, changes: { email: `${MARKER}@navy.example`, name: `Grace ${MARKER}` } },
      agent: 'support-bot',
      user: 'alice',
      reason: `because ${MARKER}`,
    });
    expect(await h.airlock.waitFor(id, ['awaiting_approval'])).toBe('awaiting_approval');
    // Refused in the handler (recorded in history): mallory is in no approver group.
    expect((await h.decide(id, 'mallory')).refusal?.code).toBe('not_permitted');
    // Refused by the validator, before history: nobody registered eve's key.
    const eve = generateKeyPairSync('ed25519').privateKey;
    const unknown = await h.airlock.decideAs(id, { approver: 'eve', key: eve, decision: 'approve' });
    expect(unknown).toMatchObject({ accepted: false, recorded: false, refusal: { code: 'unknown_key' } });
    expect((await h.decide(id, 'bob')).accepted).toBe(true);
    expect((await h.airlock.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
    return { id, traceId: (await workflowSpanOf(id)).spanContext().traceId };
  })();
  return approved;
}

test('an approved action is one trace: proposal, workflow, admission stages, the wait with a span per decision, execution and the target call', async () => {
  const { id, traceId } = await approvedAction();
  const t = tree(traceId);

  // The proposal is the root; Temporal's start span under it; the workflow's run under that.
  const propose = t.one(SPAN.propose);
  expect(propose.parentSpanId).toBeUndefined();
  expect(propose.attributes).toMatchObject({ 'airlock.action_id': id, 'airlock.task': 'crm.update_customer' });
  const start = t.one('StartWorkflow:actionWorkflow');
  expect(t.parentOf(start)).toBe(propose);
  const run = t.one('RunWorkflow:actionWorkflow');
  expect(t.parentOf(run)).toBe(start);
  expect(run.attributes).toMatchObject({
    'airlock.action_id': id,
    'airlock.task': 'crm.update_customer',
    'airlock.status': 'succeeded',
    'airlock.policy.decision': 'allow',
    'airlock.approvals_required': 1,
    'airlock.approvals': 1,
  });
  expect(run.attributes['airlock.policy_ids']).toEqual(expect.arrayContaining([expect.any(String)]));

  // Admission: its activity under the workflow, verification, validation, policy and the plan (with its target read).
  const admit = t.one('RunActivity:admitAndExecute');
  expect(t.parentOf(t.parentOf(admit)!)).toBe(run);
  expect(t.childrenOf(admit).map((s) => s.name)).toEqual(
    expect.arrayContaining(['airlock.verify', 'airlock.validate', 'airlock.policy', 'airlock.plan']),
  );
  const policy = t.childrenOf(admit).find((s) => s.name === 'airlock.policy')!;
  expect(policy.attributes['airlock.policy_ids']).toEqual(run.attributes['airlock.policy_ids']);
  const planRead = t.childrenOf(t.childrenOf(admit).find((s) => s.name === 'airlock.plan')!);
  expect(planRead.map((s) => [s.name, s.attributes['http.request.method'], s.attributes['airlock.target']])).toEqual([
    [SPAN.targetCall, 'GET', 'demo-crm'],
  ]);

  // The wait: one span, ended by the approval, and under it a span per decision that reached the action.
  const wait = t.one(SPAN.approval);
  expect(t.parentOf(wait)).toBe(run);
  expect(wait.attributes).toMatchObject({ 'airlock.outcome': 'approved', 'airlock.status': 'awaiting_approval' });
  const decisions = t.named(SPAN.decision);
  expect(decisions.map((d) => t.parentOf(d))).toEqual([wait, wait]);
  expect(decisions.map((d) => d.attributes)).toEqual([
    expect.objectContaining({ 'airlock.decision.accepted': false, 'airlock.refusal_code': 'not_permitted' }),
    expect.objectContaining({ 'airlock.decision.accepted': true, 'airlock.approver': 'bob' }),
  ]);
  // Each decision's verification runs under it; the approver's own trace (the CLI's update) is linked, not parent.
  for (const decision of decisions) {
    expect(t.childrenOf(decision).map((s) => s.name)).toContain('StartActivity:verifyDecision');
    expect(decision.links).toHaveLength(1);
    expect(decision.links[0].context.traceId).not.toBe(traceId);
  }

  // Execution: its activity under the workflow, the execute stage, and the target call (the write, then the read-back).
  const execute = t.one('RunActivity:executeAction');
  expect(t.parentOf(t.parentOf(execute)!)).toBe(run);
  const stage = t.childrenOf(execute).find((s) => s.name === 'airlock.execute')!;
  expect(stage.attributes['airlock.task']).toBe('crm.update_customer');
  expect(
    t.childrenOf(stage).map((s) => [s.attributes['http.request.method'], s.attributes['http.response.status_code']]),
  ).toEqual([
    ['PATCH', 200],
    ['GET', 200],
  ]);
  // Every span of the action is in this one trace, but for the approvers' own: each decision sent from a traced
  // client is a trace of the approver's (mallory's, eve's and bob's), which the action's decision spans link to.
  const ofAction = spans
    .getFinishedSpans()
    .filter((s) => s.attributes['airlock.action_id'] === id || s.attributes.temporalWorkflowId === id);
  const [own, approvers] = [
    ofAction.filter((s) => s.spanContext().traceId === traceId),
    ofAction.filter((s) => s.spanContext().traceId !== traceId),
  ];
  expect(own.length).toBeGreaterThan(0);
  if (process.env.AIRLOCK_PRINT_TRACE) console.log(printTree(t.all));
  expect(approvers.map((s) => [s.name, s.parentSpanId])).toEqual(
    Array(3).fill(['StartWorkflowUpdate:decide', undefined]),
  );
  expect(decisions.map((d) => d.links[0].context.spanId)).toEqual(
    approvers.filter((s) => s !== approvers[1]).map((s) => s.spanContext().spanId),
  );
});

test('the worker counts actions by task and final status, approval waits, refusals by code and execution latency', async () => {
  await approvedAction();
  const finished = await pointWith(METRIC.actions, {
    'airlock.task': 'crm.update_customer',
    'airlock.status': 'succeeded',
  });
  expect(finished?.value).toBeGreaterThanOrEqual(1);
  const wait = await pointWith(METRIC.approvalWait, {
    'airlock.task': 'crm.update_customer',
    'airlock.outcome': 'approved',
  });
  expect((wait?.value as Histogram).count).toBeGreaterThanOrEqual(1);
  expect((wait?.value as Histogram).sum).toBeGreaterThan(0);
  expect(
    (await pointWith(METRIC.refusals, { 'airlock.refusal_code': 'not_permitted', 'airlock.recorded': true }))?.value,
  ).toBe(1);
  expect(
    (await pointWith(METRIC.refusals, { 'airlock.refusal_code': 'unknown_key', 'airlock.recorded': false }))?.value,
  ).toBe(1);
  const execution = await pointWith(METRIC.executionDuration, {
    'airlock.task': 'crm.update_customer',
    'airlock.outcome': 'ok',
  });
  expect((execution?.value as Histogram).count).toBeGreaterThanOrEqual(1);
});

test('no span, event, link or metric label holds an input value, a reason or a secret, though the plan and memo do', async () => {
  const { id } = await approvedAction();
  // The marker really went through the action: into its input, its reason, its plan and memo, and the CRM.
  const state = await h.airlock.get(id);
  expect(JSON.stringify(state)).toContain(MARKER);
  expect(state.plan?.summary).toContain(CUSTOMER);
  expect(h.crm.store.customers.get(CUSTOMER)?.email).toBe(`${MARKER}@navy.example`);
  // And an action that fails on the target, whose error quotes the input (a customer nobody has).
  const failing = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: NOBODY, note: MARKER },
    agent: 'support-bot',
    user: 'alice',
  });
  const failed = await h.airlock.result(failing.id, { timeoutMs: 60_000 });
  expect(failed.status).toBe('failed');
  expect(failed.error?.message).toContain(NOBODY);
  await workflowSpanOf(failing.id);
  expect(spans.getFinishedSpans().some((s) => s.events.some((e) => e.name === 'exception'))).toBe(true);

  const exported = spans.getFinishedSpans().map((s) => ({
    name: s.name,
    attributes: s.attributes,
    status: s.status,
    events: s.events,
    links: s.links.map((l) => l.attributes ?? {}),
    resource: s.resource.attributes,
  }));
  const { resourceMetrics } = await reader.collect();
  const metrics = (resourceMetrics as ResourceMetrics).scopeMetrics.flatMap((scope) =>
    scope.metrics.map((m) => ({ descriptor: m.descriptor, labels: m.dataPoints.map((p) => p.attributes) })),
  );
  const text = JSON.stringify({ exported, metrics });
  expect(exported.length).toBeGreaterThan(20);
  const secrets = [testEnv('crmToken'), testEnv('crmReadToken')];
  for (const needle of [MARKER, CUSTOMER, NOBODY, ...secrets]) expect(text).not.toContain(needle);
});

test('an action proposed without a trace makes no span anywhere, and is still counted', async () => {
  const untraced = new AirlockClient(h.client, {
    taskQueue: h.taskQueue,
    agentKey: (agent) => loadSigningKey(agent, h.keysDir),
  });
  const before = (
    await pointWith(METRIC.actions, { 'airlock.task': 'crm.add_note_to_customer', 'airlock.status': 'succeeded' })
  )?.value as number | undefined;
  const { id } = await untraced.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'untraced' },
    agent: 'support-bot',
    user: 'alice',
  });
  expect((await untraced.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
  await new Promise((r) => setTimeout(r, 500));
  await telemetry.flush();
  expect(
    spans
      .getFinishedSpans()
      .filter((s) => s.attributes['airlock.action_id'] === id || s.attributes.temporalWorkflowId === id),
  ).toEqual([]);
  const after = await pointWith(METRIC.actions, {
    'airlock.task': 'crm.add_note_to_customer',
    'airlock.status': 'succeeded',
  });
  expect(after?.value).toBe((before ?? 0) + 1);
});

test('a traced action replayed at every workflow task (no cache) exports each span once, in one tree', async () => {
  // Every task replays the whole history: the spans made during replay carry the same ids and times, and only those
  // that end in the live part of a task leave (Temporal calls no sink during replay).
  const replaying = await startHarness({ telemetry, noWorkflowCache: true });
  try {
    const { id } = await replaying.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: 'C-1004', changes: { tier: 'platinum' } },
      agent: 'support-bot',
      user: 'alice',
    });
    await replaying.airlock.waitFor(id, ['awaiting_approval']);
    expect((await replaying.decide(id, 'carol')).accepted).toBe(true);
    expect((await replaying.airlock.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
    const t = tree((await workflowSpanOf(id)).spanContext().traceId);
    expect(new Set(t.all.map((s) => s.spanContext().spanId)).size).toBe(t.all.length);
    for (const name of [SPAN.propose, 'RunWorkflow:actionWorkflow', SPAN.approval, SPAN.decision])
      expect(t.named(name)).toHaveLength(1);
    expect(t.parentOf(t.one(SPAN.decision))).toBe(t.one(SPAN.approval));
    expect(t.parentOf(t.one(SPAN.approval))).toBe(t.one('RunWorkflow:actionWorkflow'));
    // Every span but the root hangs on a span of the same trace.
    expect(t.all.filter((s) => s.parentSpanId && !t.parentOf(s)).map((s) => s.name)).toEqual([]);
  } finally {
    await replaying.close();
  }
});

test("the Web UI's user metadata reads like `pending`: the proposal's summary, then the plan and status in the details", async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1005', changes: { tier: 'gold', name: 'Edsger [click](http://evil.example) *W*' } },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  const handle = h.client.workflow.getHandle(id);
  const description = await handle.describe();
  expect(await description.staticSummary()).toBe('crm\\.update\\_customer by alice (agent support\\-bot)');
  const details = async () => (await handle.query(workflowMetadataQuery)).currentDetails;
  const waiting = await details();
  expect(waiting).toContain('**crm\\.update\\_customer** on demo\\-crm\\:customer/C\\-1005 · awaiting approval');
  expect(waiting).toContain('Change name, tier of Edsger Dijkstra \\(C\\-1005\\)');
  expect(waiting).toMatch(/requested by alice \(agent support\\-bot\) · approvals 0\/1 · expires \d{4}\\-/);

  await h.decide(id, 'bob');
  await h.airlock.result(id, { timeoutMs: 30_000 });
  expect(await details()).toContain('**crm\\.update\\_customer** on demo\\-crm\\:customer/C\\-1005 · succeeded');
  // The proposed name reached the target; as markdown it would have been a link and emphasis: escaped, it is text.
  expect(h.crm.store.customers.get('C-1005')?.name).toContain('[click]');
  const history = JSON.stringify(await handle.fetchHistory());
  expect(history).not.toContain('http://evil.example'); // memo, details and summary are encrypted like every payload
});

test('telemetry is off unless the OTEL_* variables ask; a collector that does not listen loses spans, never an action', async () => {
  expect(telemetryFromEnv('airlock-test', {})).toBeUndefined();
  expect(telemetryFromEnv('airlock-test', { OTEL_SERVICE_NAME: 'x' })).toBeUndefined();
  expect(
    telemetryFromEnv('airlock-test', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }),
  ).toBeUndefined();
  const nobody = `http://127.0.0.1:${await freePort()}`;
  const offline = telemetryFromEnv('airlock-test', {
    OTEL_EXPORTER_OTLP_ENDPOINT: nobody,
    OTEL_METRIC_EXPORT_INTERVAL: '200',
  });
  expect(offline?.tracing).toBeDefined();
  const other = await startHarness({ telemetry: offline });
  try {
    const { id } = await other.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: 'C-1004', changes: { tier: 'silver' } },
      agent: 'support-bot',
      user: 'alice',
    });
    await other.approveAll(id);
    expect((await other.airlock.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
  } finally {
    await other.close();
  }
  const t0 = Date.now();
  await offline?.shutdown();
  expect(Date.now() - t0).toBeLessThan(15_000);
});

test('a command that exits waits for its last spans two seconds at most, even for a collector that never answers', async () => {
  const held: Socket[] = [];
  const silent = createServer((socket) => void held.push(socket)); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  try {
    const client = clientTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    client?.tracing?.tracer.startSpan('airlock.propose').end();
    const t0 = Date.now();
    await shutdownClientTelemetry(500);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(held.length).toBeGreaterThan(0); // it did try to send them
  } finally {
    for (const socket of held) socket.destroy();
    silent.close();
  }
});

// The local stack's trace viewer (AIRLOCK_TRACES=1 npm start): Jaeger, built from the Go module proxy (only when
// asked for: AIRLOCK_TRACES=1 node scripts/bootstrap.js), takes the worker's and client's spans over OTLP, and its
// query server shows the stack's trace page. With AIRLOCK_UPDATE_SCREENSHOTS=1, the page's picture goes to docs/.
(process.env.AIRLOCK_TRACES === '1' ? test : test.skip)(
  "Jaeger receives an approved action's trace over OTLP, and the stack's trace page draws it",
  async () => {
    const jaeger = await startJaeger(await freePort(), await freePort());
    const exported = telemetryFromEnv('airlock-worker', {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      OTEL_METRICS_EXPORTER: 'none',
    });
    const stack = await startHarness({ telemetry: exported });
    // The proposer and the approver as the processes of their own they are outside this test.
    const clients = telemetryFromEnv('airlock-client', {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      OTEL_METRICS_EXPORTER: 'none',
    });
    const airlock = new AirlockClient(tracedClient(stack.client, clients), {
      taskQueue: stack.taskQueue,
      agentKey: (agent) => loadSigningKey(agent, stack.keysDir),
    });
    const browser = await launchChromium();
    try {
      const { id } = await airlock.propose({
        task: 'crm.update_customer',
        input: { customerId: 'C-1003', changes: { tier: 'gold', email: 'alan@bletchley.example' } },
        agent: 'support-bot',
        user: 'alice',
        reason: 'customer asked by phone',
      });
      await airlock.waitFor(id, ['awaiting_approval']);
      const bob = loadSigningKey('bob', stack.keysDir);
      expect((await airlock.decideAs(id, { approver: 'bob', key: bob, decision: 'approve' })).accepted).toBe(true);
      expect((await stack.airlock.result(id, { timeoutMs: 30_000 })).status).toBe('succeeded');
      // The workflow's span leaves the worker with the run's last task; then Jaeger has the whole trace.
      let trace: { traceID: string; spans: { operationName: string }[] } | undefined;
      for (let i = 0; i < 100 && !trace?.spans.some((s) => s.operationName === 'RunWorkflow:actionWorkflow'); i++) {
        await Promise.all([exported?.flush(), clients?.flush()]);
        const found = (await (
          await fetch(
            `${jaeger.url}/api/traces?service=airlock-worker&tags=${encodeURIComponent(JSON.stringify({ 'airlock.action_id': id }))}&limit=5`,
          )
        ).json()) as { data: { traceID: string; spans: { operationName: string }[] }[] | null };
        trace = found.data?.[0];
        if (!trace?.spans.some((s) => s.operationName === 'RunWorkflow:actionWorkflow'))
          await new Promise((r) => setTimeout(r, 200));
      }
      expect(trace?.spans.map((s) => s.operationName)).toEqual(
        expect.arrayContaining([
          SPAN.propose,
          'RunWorkflow:actionWorkflow',
          SPAN.approval,
          SPAN.decision,
          SPAN.targetCall,
        ]),
      );

      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${jaeger.url}/trace/${trace?.traceID}`);
      await page.waitForSelector('.row');
      const rows = await page.locator('.row .name').allTextContents();
      expect(rows[0]).toBe(SPAN.propose);
      expect(rows).toEqual(expect.arrayContaining(['airlock.approval', 'airlock.decision', 'airlock.execute']));
      expect(await page.locator('h1').textContent()).toBe(`Action ${id}`);
      const dir = process.env.AIRLOCK_UPDATE_SCREENSHOTS
        ? join(REPO_ROOT, 'docs')
        : mkdtempSync(join(tmpdir(), 'shots-'));
      await page.screenshot({ path: join(dir, 'trace-screenshot.png'), fullPage: true });
      // The list of recent actions links to it.
      await page.goto(jaeger.url);
      await page.waitForSelector('table a');
      expect(await page.locator('table a').allTextContents()).toContain(id);
    } finally {
      await browser.close();
      await stack.close();
      await Promise.all([exported?.shutdown(), clients?.shutdown()]);
      await jaeger.stop();
    }
  },
);
