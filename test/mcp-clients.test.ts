import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import { REPO_ROOT } from '../stack/dev-config';
import { startHarness, type Harness } from './support/harness';
import { AIRLOCK_BIN, suiteCliEnv } from './support/cli';

// `airlock mcp` as its users run it: the real command, over stdio and Streamable HTTP, driven by the official
// TypeScript SDK client and by the official Python SDK (PyPI `mcp`), with tokens made and revoked by the CLI.
jest.setTimeout(180_000);

const run = promisify(execFile);
const PYTHON = join(REPO_ROOT, '.tools', 'venv', 'bin', 'python');
const AGENT = join(REPO_ROOT, 'test', 'fixtures', 'mcp-python-agent.py');

let h: Harness;
let server: ChildProcess;
let url: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  h = await startHarness({ taskQueue: AIRLOCK_TASK_QUEUE });
  env = suiteCliEnv(h.keysDir, {
    AIRLOCK_POLICIES_DIR: join(REPO_ROOT, 'policies'),
    AIRLOCK_APPROVERS_FILE: h.approversFile,
    AIRLOCK_AGENTS_FILE: h.agentsFile,
    AIRLOCK_MCP_TOKENS_FILE: join(mkdtempSync(join(tmpdir(), 'airlock-mcp-')), 'tokens.json'),
  });
  server = spawn(process.execPath, [AIRLOCK_BIN, 'mcp', '--http', '--port', '0'], { env });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving Streamable HTTP at (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    let err = '';
    server.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    server.once('exit', (code) => reject(new Error(`airlock mcp --http exited ${code}: ${err}`)));
  });
});
afterAll(async () => {
  server?.kill('SIGTERM');
  await h?.close();
});

const airlock = async (...args: string[]) =>
  JSON.parse((await run(process.execPath, [AIRLOCK_BIN, ...args], { env })).stdout);

async function python(mode: 'stdio' | 'http', extra: NodeJS.ProcessEnv) {
  const { stdout } = await run(PYTHON, [AGENT, mode, mode === 'http' ? url : AIRLOCK_BIN], {
    env: { ...env, NODE: process.execPath, ...extra },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as {
    tools: string[];
    annotations: Record<string, Record<string, unknown>>;
    note: { isError: boolean; structured: Record<string, unknown> };
    preview: { isError: boolean; structured: Record<string, unknown> };
  };
}

const expectAgentRun = (out: Awaited<ReturnType<typeof python>>, note: string) => {
  expect(out.tools).toContain('crm__add_note_to_customer');
  expect(out.tools).not.toContain('ops__set_parameter');
  expect(out.annotations['crm__update_customer__preview']).toMatchObject({ readOnlyHint: true });
  expect(out.note).toMatchObject({
    isError: false,
    structured: { status: 'succeeded', task: 'crm.add_note_to_customer' },
  });
  expect(out.preview).toMatchObject({
    isError: false,
    structured: { status: 'planned', diff: [{ path: 'tier', op: 'change', after: 'gold' }] },
  });
  expect(h.crm.store.notes.map((n) => n.text)).toContain(note);
};

test('the Python MCP client over stdio: per-task tools, a proposal that runs, a preview that does not', async () => {
  const out = await python('stdio', { AIRLOCK_AGENT: 'support-bot', AIRLOCK_USER: 'alice', NOTE: 'python over stdio' });
  expectAgentRun(out, 'python over stdio');
});

test('tokens made by the CLI; the Python and TypeScript clients over HTTP; a revoked token stops', async () => {
  const made = await airlock('mcp', 'token', 'create', 'support-bot', '--user', 'alice', '--audience', url, '--json');
  expect(made).toMatchObject({ agent: 'support-bot', user: 'alice', audience: url });
  expect(made.token).toMatch(/^airlock_mcp_[0-9a-f]{16}_/);
  expect(made.secretHash).toBeUndefined();

  const out = await python('http', { AIRLOCK_MCP_TOKEN: made.token, NOTE: 'python over HTTP' });
  expectAgentRun(out, 'python over HTTP');

  const ts = new Client({ name: 'ts-agent', version: '1.0.0' });
  await ts.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${made.token}` } },
    }),
  );
  const r = await ts.callTool({
    name: 'crm__add_note_to_customer',
    arguments: { customerId: 'C-1005', note: 'typescript over HTTP' },
  });
  expect(r.structuredContent).toMatchObject({ status: 'succeeded' });
  await ts.close();

  const listed = await airlock('mcp', 'token', 'list', '--json');
  expect(listed).toEqual([expect.objectContaining({ id: made.id, agent: 'support-bot' })]);
  expect(JSON.stringify(listed)).not.toContain(made.token.slice(-43));
  await airlock('mcp', 'token', 'revoke', made.id, '--json');
  await expect(python('http', { AIRLOCK_MCP_TOKEN: made.token, NOTE: 'after revocation' })).rejects.toThrow();
  expect(h.crm.store.notes.map((n) => n.text)).not.toContain('after revocation');
  const refused = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${made.token}` } });
  expect(refused.status).toBe(401);
});
