import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import Ajv from 'ajv';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { taskForTool, toolDefinitions } from '../client/tool-definitions';
import { createDefaultRegistry, defaultCatalog } from '../tasks';
import { startHarness, type Harness } from './support/harness';
import { testEnv } from './support/test-env';
import { AIRLOCK_BIN } from './support/cli';
import { join } from 'node:path';
import { REPO_ROOT } from '../stack/dev-config';

// The SDK's real MCP client, talking to the real `airlock mcp` process over stdio.
jest.setTimeout(120_000);

let h: Harness;
const clients: Client[] = [];
beforeAll(async () => {
  h = await startHarness({ taskQueue: AIRLOCK_TASK_QUEUE });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await h?.close();
});

async function connect(agent: string, user?: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [AIRLOCK_BIN, 'mcp'],
    env: {
      ...(process.env as Record<string, string>),
      TEMPORAL_ADDRESS: testEnv('temporalAddress'),
      AIRLOCK_CODEC_KEYS: testEnv('codecKeys'),
      AIRLOCK_AGENT: agent,
      AIRLOCK_KEYS_DIR: h.keysDir,
      AIRLOCK_POLICIES_DIR: join(REPO_ROOT, 'policies'),
      AIRLOCK_APPROVERS_FILE: h.approversFile,
      AIRLOCK_AGENTS_FILE: h.agentsFile,
      ...(user ? { AIRLOCK_USER: user } : {}),
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'airlock-test-agent', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

type CallResult = { content: { type: string; text: string }[]; isError?: boolean };
const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args })) as CallResult;
const body = (r: CallResult) => r.content.map((c) => c.text).join('\n');

let bot: Client;
beforeAll(async () => {
  bot = await connect('support-bot', 'alice');
});

test('a tool per task policy could allow, a read-only preview beside it, and the generic three; schemas from zod', async () => {
  const { tools } = await bot.listTools();
  // support-bot acting for alice: the four tasks policy lets it propose and preview; never ops.set_parameter.
  expect(tools.map((t) => t.name).sort()).toEqual([
    'billing__refund_charge',
    'billing__refund_charge__preview',
    'crm__add_note_to_customer',
    'crm__add_note_to_customer__preview',
    'crm__update_customer',
    'crm__update_customer__preview',
    'get_action',
    'list_tasks',
    'propose_action',
    'support__send_email',
    'support__send_email__preview',
  ]);
  const propose = tools.find((t) => t.name === 'propose_action')!;
  expect(Object.keys(propose.inputSchema.properties ?? {}).sort()).toEqual([
    'dry_run',
    'idempotency_key',
    'input',
    'reason',
    'task',
  ]);
  expect(propose.description).toContain('"required":["customerId","note"]');

  const listed = JSON.parse(body(await call(bot, 'list_tasks', {})));
  expect(listed.map((t: { name: string }) => t.name).sort()).toEqual([
    'billing.refund_charge',
    'crm.add_note_to_customer',
    'crm.update_customer',
    'support.send_email',
  ]);
  const note = listed.find((t: { name: string }) => t.name === 'crm.add_note_to_customer');
  expect(note.inputSchema).toEqual(defaultCatalog().find((t) => t.name === 'crm.add_note_to_customer')!.inputSchema);

  const noteTool = tools.find((t) => t.name === 'crm__add_note_to_customer')!;
  const { $schema: _s, ...taskSchema } = note.inputSchema;
  expect(noteTool.inputSchema).toEqual({
    ...taskSchema,
    properties: {
      ...taskSchema.properties,
      airlock_reason: expect.objectContaining({ type: 'string' }),
      airlock_idempotency_key: expect.objectContaining({ type: 'string' }),
    },
  });
  expect(noteTool.outputSchema).toMatchObject({ type: 'object', required: ['action_id', 'task', 'status', 'message'] });
  expect(noteTool.annotations).toEqual({
    title: 'crm.add_note_to_customer',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  });
  expect(tools.find((t) => t.name === 'billing__refund_charge')!.annotations).toMatchObject({
    destructiveHint: true,
    idempotentHint: false,
  });
  expect(tools.find((t) => t.name === 'crm__update_customer__preview')!.annotations).toMatchObject({
    readOnlyHint: true,
    openWorldHint: true,
  });

  // ops-bot (for nobody) may only ever set parameters: one task, and its preview.
  const ops = await connect('ops-bot');
  expect((await ops.listTools()).tools.map((t) => t.name).sort()).toEqual([
    'get_action',
    'list_tasks',
    'ops__set_parameter',
    'ops__set_parameter__preview',
    'propose_action',
  ]);
  // A tool that is not listed is not callable by its name either.
  const hidden = await call(ops, 'crm__add_note_to_customer', { customerId: 'C-1001', note: 'x' });
  expect(hidden.isError).toBe(true);
  expect(body(hidden)).toContain('Tool crm__add_note_to_customer is not available to you');
});

test('a task tool proposes with the task input, answers with structuredContent, and its preview executes nothing', async () => {
  const r = await bot.callTool({
    name: 'crm__add_note_to_customer',
    arguments: { customerId: 'C-1002', note: 'via a task tool', airlock_reason: 'follow-up' },
  });
  expect(r.isError).toBeFalsy();
  expect(r.structuredContent).toMatchObject({
    task: 'crm.add_note_to_customer',
    status: 'succeeded',
    message: expect.stringMatching(/^Action act-[0-9a-f]+ succeeded\.$/),
    result: { customerId: 'C-1002' },
  });
  const state = await h.airlock.get((r.structuredContent as { action_id: string }).action_id);
  expect([state.agent, state.user, state.reason]).toEqual(['support-bot', 'alice', 'follow-up']);
  expect(h.crm.store.notes.map((n) => n.text)).toContain('via a task tool');

  const writes = h.crm.store.writes;
  const preview = await bot.callTool({
    name: 'crm__update_customer__preview',
    arguments: { customerId: 'C-1005', changes: { tier: 'gold' } },
  });
  expect(preview.isError).toBeFalsy();
  expect(preview.structuredContent).toMatchObject({
    status: 'planned',
    diff: [{ path: 'tier', op: 'change', before: 'silver', after: 'gold' }],
  });
  expect(h.crm.store.writes).toBe(writes);

  // Invalid input is Airlock's refusal, recorded, with the zod issues in structuredContent.
  const invalid = await bot.callTool({ name: 'crm__add_note_to_customer', arguments: { customerId: 'X', note: '' } });
  expect(invalid.isError).toBe(true);
  expect(invalid.structuredContent).toMatchObject({ status: 'invalid', issues: expect.any(Array) });
  // Fields the task does not have (a model trying to choose whom it acts as) make the input invalid: nothing runs.
  const spoof = await bot.callTool({
    name: 'crm__add_note_to_customer',
    arguments: { customerId: 'C-1002', note: 'spoof', agent: 'admin-bot', user: 'carol' },
  });
  expect(spoof.structuredContent).toMatchObject({ status: 'invalid' });
  expect(h.crm.store.notes.map((n) => n.text)).not.toContain('spoof');
});

test('hostile text reaches the model escaped, in structuredContent as in the text', async () => {
  const hostile = 'ok \u001b[2J\u202eevil\u0007 end';
  const r = await bot.callTool({
    name: 'crm__add_note_to_customer',
    arguments: { customerId: 'C-1001', note: hostile },
  });
  expect(r.structuredContent).toMatchObject({ status: 'succeeded' });
  // The note comes back in the plan's diff: shown, but as visible escapes.
  expect(JSON.stringify(r.structuredContent)).toContain('evil');
  const strings: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') strings.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(r);
  expect(strings.join('')).toContain('evil');
  expect(strings.filter((t) => /[\u001b\u202e\u0007]/.test(t))).toEqual([]);
});

test('a valid low-risk proposal succeeds and returns the result', async () => {
  const r = await call(bot, 'propose_action', {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'via MCP' },
    reason: 'customer call',
  });
  expect(r.isError).toBeFalsy();
  const out = JSON.parse(body(r));
  expect(out).toMatchObject({
    status: 'succeeded',
    task: 'crm.add_note_to_customer',
    result: { customerId: 'C-1001' },
  });
  expect(h.crm.store.notes.map((n) => n.text)).toContain('via MCP');
});

test('invalid input is a tool error listing the zod issues', async () => {
  const r = await call(bot, 'propose_action', {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'X', note: '' },
  });
  expect(r.isError).toBe(true);
  expect(body(r)).toMatch(
    /Invalid proposal for crm.add_note_to_customer; nothing was done. Fix these and propose again:\n- input.customerId: a customer id looks like C-1001\n- input.note: the note must not be empty/,
  );
});

test('a denied proposal is a tool error saying so', async () => {
  // Policy lets support-bot act for alice only: a server configured for mallory is denied.
  const stranger = await connect('support-bot', 'mallory');
  const denied = await call(stranger, 'propose_action', {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1003', note: 'hi' },
  });
  expect(denied.isError).toBe(true);
  expect(body(denied)).toMatch(/^Denied by policy; nothing was done\./);
  expect(h.crm.store.notes.map((n) => n.text)).not.toContain('hi');
});

test('awaiting approval is a tool error saying whom and to ask again with get_action, which then waits for the result', async () => {
  const writes = h.crm.store.writes;
  const r = await call(bot, 'propose_action', {
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { phone: '+1 757 555 0199', tier: 'gold' } },
    idempotency_key: 'mcp-1',
  });
  expect(r.isError).toBe(true);
  expect(body(r)).toMatch(
    /is awaiting approval by bob or carol \(0\/1 approvals, until .*\); nothing has run yet\. Ask again later with get_action/,
  );
  const id = /Action (act-[0-9a-f]+)/.exec(body(r))![1];
  expect(h.crm.store.writes).toBe(writes);

  // The same key again: the same action, not a second one.
  const again = await call(bot, 'propose_action', {
    task: 'crm.update_customer',
    input: { customerId: 'C-1004', changes: { phone: '+1 757 555 0199', tier: 'gold' } },
    idempotency_key: 'mcp-1',
  });
  expect(body(again)).toContain(id);

  const waiting = call(bot, 'get_action', { action_id: id, wait_seconds: 60 });
  await h.decide(id, 'bob', 'approve');
  const done = await waiting;
  expect(done.isError).toBeFalsy();
  expect(JSON.parse(body(done))).toMatchObject({ action_id: id, status: 'succeeded' });
  expect(h.crm.store.customers.get('C-1004')?.phone).toBe('+1 757 555 0199');
});

test('rejected and failed actions are tool errors that say what happened', async () => {
  const r = await call(bot, 'propose_action', {
    task: 'crm.update_customer',
    input: { customerId: 'C-1003', changes: { tier: 'gold' } },
  });
  const id = /Action (act-[0-9a-f]+)/.exec(body(r))![1];
  await h.decide(id, 'carol', 'reject', { reason: 'tier changes need a contract' });
  const rejected = await call(bot, 'get_action', { action_id: id, wait_seconds: 30 });
  expect(rejected.isError).toBe(true);
  expect(body(rejected)).toContain(`Action ${id} ended rejected: Rejected by carol: tier changes need a contract`);

  h.crm.failWrites(400, 1);
  const failed = await call(bot, 'propose_action', {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1003', note: 'will fail' },
  });
  expect(failed.isError).toBe(true);
  expect(body(failed)).toMatch(/ended failed: The demo CRM refused POST \/customers\/C-1003\/notes: HTTP 400/);
  expect(h.crm.store.customers.get('C-1003')?.tier).toBe('bronze');
});

test('a dry run plans and changes nothing', async () => {
  const writes = h.crm.store.writes;
  const r = await call(bot, 'propose_action', {
    task: 'crm.update_customer',
    input: { customerId: 'C-1005', changes: { tier: 'bronze' } },
    dry_run: true,
  });
  expect(r.isError).toBeFalsy();
  expect(JSON.parse(body(r))).toMatchObject({
    status: 'planned',
    diff: [{ path: 'tier', op: 'change', before: 'silver', after: 'bronze' }],
  });
  expect(h.crm.store.writes).toBe(writes);
});

test('the model cannot choose who it acts as, nor read other agents’ actions', async () => {
  const notes = h.crm.store.notes.length;
  const r = await call(bot, 'propose_action', {
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1002', note: 'spoof' },
    agent: 'admin-bot',
    user: 'carol',
  });
  // Arguments that are not the tool's are refused outright: nothing is proposed.
  expect(r.isError).toBe(true);
  expect(body(r)).toMatch(/propose_action: .*Unrecognized keys: "agent", "user"/s);
  expect(h.crm.store.notes.length).toBe(notes);

  const other = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1002', note: 'private' },
    agent: 'other-bot',
    user: 'alice',
  });
  const peek = await call(bot, 'get_action', { action_id: other.id });
  expect(peek.isError).toBe(true);
  expect(body(peek)).toContain(`No action with id "${other.id}"`);
});

test('toolDefinitions() are JSON Schema function definitions that accept each task’s examples', () => {
  const ajv = new Ajv({ strict: false });
  const defs = toolDefinitions(defaultCatalog());
  // One per registered task (a new task needs nothing here), dots as `__`.
  expect(defs).toHaveLength(createDefaultRegistry().names().length);
  expect(defs.map((d) => d.function.name)).toEqual(
    expect.arrayContaining(['crm__add_note_to_customer', 'billing__refund_charge']),
  );
  for (const def of defs) {
    expect(def.type).toBe('function');
    expect(def.function.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(def.function.parameters).toMatchObject({ type: 'object' });
    const validate = ajv.compile(def.function.parameters);
    const task = createDefaultRegistry().get(taskForTool(defaultCatalog(), def.function.name));
    for (const example of task.examples) expect(validate(example)).toBe(true);
    expect(validate({ unexpected: true })).toBe(false);
  }
});
