import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { publicKeyText, rawPublicKey } from '../crypto/signing-keys';
import type { Harness } from './support/harness';
import { INITIALIZE as initialize, startTestGateway, type TestGateway } from './support/mcp-gateway';

// The MCP gateway over Streamable HTTP, in process against the suite's real Temporal and a real worker, reached by
// the SDK's own client. Every attack here must fail with nothing done.
jest.setTimeout(120_000);

let t: TestGateway;
let h: Harness;
let gateway: TestGateway['gateway'];
let tokens: TestGateway['tokens'];
let policiesDir: string;
let tokenFor: TestGateway['tokenFor'];
let connect: TestGateway['connect'];
let post: TestGateway['post'];

beforeAll(async () => {
  t = await startTestGateway({ taskQueue: AIRLOCK_TASK_QUEUE, callsPerMinute: 8, sessionsPerToken: 3 });
  ({ h, gateway, tokens, policiesDir, tokenFor, connect, post } = t);
});
afterAll(() => t?.close());
const keyOf = (agent: string) => t.policy.agentKey(agent)!;

test('a token names the agent and user: support-bot for alice gets its tools and proposes as itself', async () => {
  const { token } = tokenFor('support-bot', { user: 'alice' });
  const bot = await connect(token);
  const names = (await bot.listTools()).tools.map((t) => t.name);
  expect(names).toContain('crm__add_note_to_customer');
  expect(names).not.toContain('ops__set_parameter');

  const r = await bot.callTool({
    name: 'crm__add_note_to_customer',
    arguments: { customerId: 'C-1001', note: 'over HTTP' },
  });
  expect(r.isError).toBeFalsy();
  const { action_id } = r.structuredContent as { action_id: string };
  const state = await h.airlock.get(action_id);
  expect([state.agent, state.user, state.status]).toEqual(['support-bot', 'alice', 'succeeded']);
  expect(h.crm.store.notes.map((n) => n.text)).toContain('over HTTP');
});

test('without a valid token: 401 with WWW-Authenticate naming the protected resource metadata', async () => {
  const none = await post({});
  expect(none.status).toBe(401);
  const metadata = `${new URL(gateway.url).origin}/.well-known/oauth-protected-resource/mcp`;
  expect(none.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadata}"`);
  const prm = await (await fetch(metadata)).json();
  expect(prm).toMatchObject({ resource: gateway.url, bearer_methods_supported: ['header'] });

  const forged = await post({ authorization: `Bearer airlock_mcp_0123456789abcdef_${'A'.repeat(43)}` });
  expect(forged.status).toBe(401);
  expect(forged.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="/);

  // A real token's id with another secret.
  const { token } = tokenFor('support-bot', { user: 'alice' });
  const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  expect((await post({ authorization: `Bearer ${tampered}` })).status).toBe(401);
  // Tokens never travel in the URL.
  expect((await post({}, initialize, `${gateway.url}?access_token=${token}`)).status).toBe(400);
  // A browser page of another origin cannot drive the gateway (DNS rebinding).
  expect((await post({ authorization: `Bearer ${token}`, origin: 'http://evil.test' })).status).toBe(403);
});

test('audience: a token issued for another MCP server is refused here', async () => {
  const { token } = tokenFor('support-bot', { user: 'alice', audience: 'https://other-gateway.example/mcp' });
  const r = await post({ authorization: `Bearer ${token}` });
  expect(r.status).toBe(401);
  expect(r.headers.get('www-authenticate')).toContain(
    'error_description="The token was not issued for this resource."',
  );
});

test('expired and revoked tokens stop at once, and a revoked token’s open session is closed', async () => {
  const expired = tokenFor('support-bot', { user: 'alice', seconds: -1 });
  expect((await post({ authorization: `Bearer ${expired.token}` })).status).toBe(401);

  const { token, record } = tokenFor('support-bot', { user: 'alice' });
  const bot = await connect(token);
  await bot.listTools();
  expect(tokens.revoke(record.id)).toBe(true);
  await expect(bot.listTools()).rejects.toThrow();
  const again = await post({ authorization: `Bearer ${token}` });
  expect(again.status).toBe(401);
  expect(again.headers.get('www-authenticate')).toContain('The token was revoked.');
  expect(tokens.list().find((t) => t.id === record.id)?.revokedAt).toBeDefined();
});

test('a session belongs to its token: another agent’s token cannot use it, nor read its actions', async () => {
  const alice = tokenFor('support-bot', { user: 'alice' });
  const opened = await post({ authorization: `Bearer ${alice.token}` });
  expect(opened.status).toBe(200);
  const sessionId = opened.headers.get('mcp-session-id')!;
  expect(sessionId).toBeTruthy();
  await opened.text();

  const ops = tokenFor('ops-bot');
  const hijack = await post(
    { authorization: `Bearer ${ops.token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
  );
  expect(hijack.status).toBe(404);

  // ops-bot asks about support-bot's action by id: it does not exist for ops-bot.
  const bot = await connect(alice.token);
  const r = await bot.callTool({
    name: 'crm__add_note_to_customer',
    arguments: { customerId: 'C-1002', note: 'mine' },
  });
  const { action_id } = r.structuredContent as { action_id: string };
  const opsBot = await connect(ops.token);
  const peek = await opsBot.callTool({ name: 'get_action', arguments: { action_id } });
  expect(peek.isError).toBe(true);
  expect(JSON.stringify(peek.content)).toContain(`No action with id`);
});

test('a token is bound to the agent’s registered key: a new key in the agents file ends it', async () => {
  const { token } = tokenFor('careful-bot');
  expect((await post({ authorization: `Bearer ${token}` })).status).toBe(200);
  const agents = JSON.parse(readFileSync(h.agentsFile, 'utf8')) as { agents: { name: string; publicKey: string }[] };
  const fresh = generateKeyPairSync('ed25519').publicKey;
  for (const a of agents.agents) if (a.name === 'careful-bot') a.publicKey = publicKeyText(fresh);
  writeFileSync(h.agentsFile, JSON.stringify(agents, null, 2));
  await new Promise((r) => setTimeout(r, 300)); // the gateway reads the file again within its poll
  const r = await post({ authorization: `Bearer ${token}` });
  expect(r.status).toBe(401);
  expect(r.headers.get('www-authenticate')).toContain('no longer registered with the key');
  expect(keyOf('careful-bot')).toBe(rawPublicKey(fresh));
});

test('a flood of tool calls from one agent is refused with a clear tool error; other agents are not slowed', async () => {
  const { token } = tokenFor('hasty-bot');
  const a = await connect(token);
  const b = await connect(token);
  const calls = await Promise.all(
    Array.from({ length: 14 }, (_, i) => (i % 2 ? a : b).callTool({ name: 'list_tasks', arguments: {} })),
  );
  const refused = calls.filter((c) => c.isError);
  // 8 a minute, over both sessions of the agent.
  expect(calls.length - refused.length).toBe(8);
  expect(JSON.stringify(refused[0].content)).toMatch(
    /Rate limit: agent hasty-bot may make 8 tool calls a minute, and made more; nothing was done\. Try again in \d+ s\./,
  );
  // Another agent is not slowed by it.
  const other = await connect(tokenFor('quick-bot').token);
  expect((await other.callTool({ name: 'list_tasks', arguments: {} })).isError).toBeFalsy();
});

test('a flood of sessions from one agent keeps at most its limit open', async () => {
  const { token } = tokenFor('slow-bot');
  for (let i = 0; i < 6; i++) expect((await post({ authorization: `Bearer ${token}` })).status).toBe(200);
  expect(gateway.sessions()['slow-bot']).toBe(3);
});

test('a policy change that lets an agent do more sends tools/list_changed, and the new tool is listed', async () => {
  const ops = await connect(tokenFor('ops-bot').token);
  expect((await ops.listTools()).tools.map((t) => t.name)).not.toContain('crm__add_note_to_customer');
  const changed = new Promise<void>((resolve) =>
    ops.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
  );
  appendFileSync(
    join(policiesDir, 'policies.cedar'),
    `\n@id("ops-bot-adds-notes")\npermit (principal == Airlock::Agent::"ops-bot", action == Airlock::Action::"crm.add_note_to_customer", resource);\n`,
  );
  await changed;
  expect((await ops.listTools()).tools.map((t) => t.name)).toContain('crm__add_note_to_customer');
});
