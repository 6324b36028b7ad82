import { spawn } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { decodeFailure, encodeFailure } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { actionIdFor } from '../client/action-id';
import { agentView } from '../client/agent-view';
import { toolDefinitions } from '../client/tool-definitions';
import { canonicalJson } from '../common/canonical-json';
import { failureConverter } from '../common/failure-converter';
import { planHashBody } from '../common/plan-hash';
import { signedText } from '../common/signing';
import { safeJson, visible } from '../common/terminal-text';
import type { ActionState, DecisionPayload, Plan, ProposalPayload } from '../common/types';
import { AesGcmCodec, parseCodecKeys, type CodecKeys } from '../crypto/encryption-codec';
import { sha256Canonical } from '../crypto/sha256';
import { publicKeyText, signPayload } from '../crypto/signing-keys';
import { JsonlAuditLog } from '../audit/audit-log';
import { REPO_ROOT } from '../stack/dev-config';
import { defaultCatalog, type TaskCatalog } from '../tasks';
import { startHarness, type Harness } from './support/harness';

// The Python client (clients/python) must be one more client of the same Airlock: byte-identical canonical JSON,
// digests, signatures and action ids; the same AES-256-GCM payloads and encoded failures; the same tool definitions.
// Here the TypeScript side checks the shared vectors and decodes what Python encodes; then pytest runs the Python
// client's own tests against this file's real stack (Temporal, a worker, the demo CRM), and this side reads back the
// actions Python started. `npm test` thus runs the Python tests, and a Python failure fails this file.
// AIRLOCK_UPDATE_PYTHON_FIXTURES=1 writes the vectors and the catalog shipped with the package anew.
jest.setTimeout(300_000);

const PYTHON_DIR = join(REPO_ROOT, 'clients', 'python');
const VECTORS_FILE = join(PYTHON_DIR, 'tests', 'vectors', 'shared-vectors.json');
const CATALOG_FILE = join(PYTHON_DIR, 'src', 'airlock_client', 'catalog.json');
const PYTHON = join(REPO_ROOT, '.tools', 'venv', 'bin', 'python');
const UPDATE = process.env.AIRLOCK_UPDATE_PYTHON_FIXTURES === '1';

/**
 * The number of tests in clients/python/tests: every one must pass, none skipped. Adding a Python test means
 * raising this, so a test that stops being collected is noticed.
 */
const EXPECTED_PYTHON_TESTS = 67;

/** Runs a command to its end without blocking this process (the harness's worker must keep running meanwhile). */
function runProcess(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const payloadBytes = (p: Payload) => temporal.api.common.v1.Payload.encode(p).finish();
const parsePayload = (text: string): Payload => temporal.api.common.v1.Payload.decode(Buffer.from(text, 'base64'));

// --- the vectors -------------------------------------------------------------------------------------------------

/** Numbers whose JavaScript spelling is easy to get wrong, and a spread of doubles from a fixed generator. */
function numbers(): number[] {
  const fixed = [
    0,
    1,
    -1,
    1.5,
    0.1,
    0.1 + 0.2,
    100,
    1e20,
    1e21,
    1.5e21,
    1e-6,
    1e-7,
    1.25e-7,
    123e-20,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 60,
    123456789012345680000,
    5e-324,
    1.7976931348623157e308,
    -1e-300,
    1e300,
    4.35,
    0.000001234,
    1234567.125,
    -0.5,
  ];
  let seed = 20261126;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const spread = Array.from({ length: 120 }, () => {
    const value = (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30);
    return next() < 0.3 ? Number(value.toPrecision(1 + Math.floor(next() * 6))) : value;
  });
  return [...fixed, ...spread];
}

const STRINGS = [
  '',
  'plain',
  'quote " backslash \\ slash /',
  '\u0000\u0001\u001f\u007f\u0080\u009f',
  '\b\f\n\r\t',
  '\u2028\u2029 \u202e bidi \ufeff',
  'é 日本 😀 𝄞',
  '\ud800',
  '\udfff',
  'a\ud83d',
  '\ud83d\ude00',
  '\ude00\ud83d',
];

function canonicalCases(): unknown[] {
  const keyOrder = { '\uffff': 1, '😀': 2, a: 3, é: 4, '': 5, B: 6, aa: 7, 'a\u0000': 8, Z: 9, '\ud800': 10 };
  return [
    null,
    true,
    false,
    ...numbers(),
    ...STRINGS,
    [],
    {},
    { b: 1, a: 2 },
    keyOrder,
    { nested: { z: [1, { y: null, x: [true, 'x'] }], a: {} }, list: [[], [[]], {}] },
    { customerId: 'C-1001', note: 'Called about renewal', amount: 12.5, tags: ['a', 'b'] },
    STRINGS,
  ];
}

const VECTOR_KEYS: CodecKeys = {
  current: 'k2',
  keys: { k1: randomBytes(32), k2: randomBytes(32) },
};

const PLAN: Omit<Plan, 'hash'> = {
  target: 'demo-crm:customer/C-1002',
  summary: 'Update customer C-1002 (Grace Hopper): tier silver → gold',
  sideEffects: ['Writes the customer record in the CRM'],
  before: { id: 'C-1002', tier: 'silver', email: 'grace@example.com', score: 0.1 + 0.2 },
  after: { id: 'C-1002', tier: 'gold', email: 'grace@example.com', score: 0.1 + 0.2 },
  diff: [{ path: 'tier', op: 'change', before: 'silver', after: 'gold' }],
  plannedAt: '2026-11-26T12:00:00.000Z',
};
const PLAN_INPUT = { customerId: 'C-1002', changes: { tier: 'gold' } };

/** The catalog the agent-view vectors use: one task hides `email`. */
const VIEW_CATALOG: TaskCatalog = [
  {
    name: 'crm.update_customer',
    description: 'Update',
    risk: 'high',
    inputSchema: {},
    hiddenFromAgents: ['email'],
    toolHints: { destructive: true, idempotent: false },
  },
];

function viewStates(): ActionState[] {
  const hash = sha256Canonical(planHashBody('crm.update_customer', PLAN_INPUT, PLAN));
  const plan: Plan = {
    ...PLAN,
    hash,
    diff: [
      { path: 'tier', op: 'change', before: 'silver', after: 'gold' },
      { path: 'email', op: 'change', before: 'old@example.com', after: 'new@example.com' },
      { path: 'emailVerified', op: 'add', after: true },
    ],
  };
  const base = {
    id: 'act-000000000000000000000001',
    runId: 'run-1',
    task: 'crm.update_customer',
    agent: 'support-bot',
    user: 'alice',
    requester: 'alice',
    owners: ['dave'],
    dryRun: false,
    input: PLAN_INPUT,
    stalePlans: [],
    approvedBy: [],
    approvals: [],
    refusalsNotKept: 0,
    refusedBeforeHistory: { total: 0, byCode: {} },
    createdAt: '2026-11-26T12:00:00.000Z',
    updatedAt: '2026-11-26T12:00:01.000Z',
    transitions: [],
  };
  const policy = (agentMayPreview: boolean) =>
    ({
      decision: 'allow',
      approvalsRequired: 1,
      policyIds: ['p'],
      approvalTimeoutSeconds: 60,
      sessionSeconds: 900,
      eligibleApprovers: ['bob'],
      explanation: 'x',
      agentMayPreview,
    }) as const;
  return [
    {
      ...base,
      status: 'awaiting_approval',
      plan,
      policy: policy(true),
      approvalsRequired: 1,
      approvedBy: [],
      expiresAt: '2026-11-27T12:00:00.000Z',
    },
    { ...base, status: 'awaiting_approval', plan, policy: policy(false), approvalsRequired: 1 },
    {
      ...base,
      status: 'succeeded',
      plan,
      policy: policy(true),
      approvalsRequired: 1,
      approvedBy: ['bob'],
      result: {
        output: { ok: true, id: 'C-1002' },
        idempotencyKey: base.id,
        credentials: {
          roleArn: 'arn:aws:iam::123456789012:role/x',
          sessionName: base.id,
          sourceIdentity: 'alice',
          expiresAt: '2026-11-26T12:15:00.000Z',
          durationSeconds: 900,
          secretIds: ['s'],
        },
      },
    },
    {
      ...base,
      status: 'invalid',
      approvalsRequired: 0,
      input: undefined,
      issues: [{ path: ['proposal'], code: 'proposal_bad_signature', message: 'bad' }],
    },
    { ...base, status: 'failed', approvalsRequired: 0, error: { type: 'AIRLOCK_TARGET_ERROR', message: 'boom' } },
  ] as ActionState[];
}

/**
 * The vectors' signing key: an Ed25519 key whose seed is the sha-256 of a sentence, public by design, so that the
 * repository holds no private key (both sides derive it).
 */
const VECTOR_KEY_TEXT = 'airlock shared vectors: a test key, public by design';
function vectorKey(text: string) {
  const seed = createHash('sha256').update(text).digest();
  // PKCS#8 for Ed25519: a fixed 16-byte prefix, then the 32-byte seed.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

async function makeVectors() {
  const privateKey = vectorKey(VECTOR_KEY_TEXT);
  const proposals: ProposalPayload[] = [
    {
      actionId: 'act-0123456789abcdef01234567',
      agent: 'support-bot',
      user: 'alice',
      task: 'crm.add_note_to_customer',
      inputDigest: sha256Canonical({ customerId: 'C-1001', note: 'Called about renewal' }),
      reason: 'customer asked — “quoted” 😀',
      dryRun: false,
      idempotencyKey: 'ticket-42',
      time: '2026-11-26T12:00:00.000Z',
      nonce: '00112233445566778899aabbccddeeff',
    },
    {
      actionId: 'act-fedcba9876543210fedcba98',
      agent: 'ops-bot',
      task: 'ops.set_parameter',
      inputDigest: sha256Canonical({ name: '/app/flag', value: 'on' }),
      dryRun: true,
      time: '2026-11-26T12:00:00.5Z',
      nonce: 'nonce-0123456789abcdef',
    },
  ];
  const decision: DecisionPayload = {
    approver: 'bob',
    actionId: 'act-0123456789abcdef01234567',
    runId: '0f0e0d0c-0b0a-0908-0706-050403020100',
    planHash: 'a'.repeat(64),
    decision: 'approve',
    time: '2026-11-26T12:00:00.000Z',
    nonce: '00112233445566778899aabbccddeeff',
  };
  const codec = new AesGcmCodec(VECTOR_KEYS);
  const oldCodec = new AesGcmCodec({ current: 'k1', keys: VECTOR_KEYS.keys });
  const strangerCodec = new AesGcmCodec({ current: 'k3', keys: { k3: randomBytes(32) } });
  const values: unknown[] = [
    { customerId: 'C-1001', note: 'héllo 😀 \u2028', amount: 12.5, nested: { list: [1, null, true] } },
    'a string',
    null,
    [1, 2, 3],
  ];
  const sealed = async (value: unknown, c = codec) =>
    b64(payloadBytes((await c.encode([defaultPayloadConverter.toPayload(value)]))[0]));
  const good = [
    ...(await Promise.all(values.map(async (value) => ({ value, key: 'k2', payload: await sealed(value) })))),
    { value: { rotated: true }, key: 'k1', payload: await sealed({ rotated: true }, oldCodec) },
  ];
  const altered = parsePayload(await sealed({ a: 1 }));
  altered.data![20] ^= 1;
  const swapped = parsePayload(await sealed({ a: 1 }, oldCodec));
  swapped.metadata!['encryption-key-id'] = Buffer.from('k2');
  const cut = parsePayload(await sealed({ a: 1 }));
  cut.data = cut.data!.subarray(0, 20);
  const refused = [
    { why: 'not encrypted', payload: b64(payloadBytes(defaultPayloadConverter.toPayload({ a: 1 }))) },
    { why: 'a key this client does not have', payload: await sealed({ a: 1 }, strangerCodec) },
    { why: 'an altered ciphertext', payload: b64(payloadBytes(altered)) },
    { why: 'sealed with k1, labelled k2', payload: b64(payloadBytes(swapped)) },
    { why: 'cut short', payload: b64(payloadBytes(cut)) },
  ];
  const failure = failureConverter.errorToFailure(
    ApplicationFailure.create({
      message: 'The decision is malformed: reason over 1,000 characters — “refused”.',
      type: 'malformed',
      nonRetryable: true,
      details: [{ code: 'oversized', limit: 1000 }],
    }),
    defaultPayloadConverter,
  );
  const encodedFailure = await encodeFailure([codec], failure);
  return {
    about:
      'Shared vectors of the TypeScript side and the Python client (clients/python). Written by test/python-client.test.ts ' +
      'with AIRLOCK_UPDATE_PYTHON_FIXTURES=1; checked by it and by clients/python/tests/test_vectors.py. Test keys only.',
    canonical: canonicalCases().map((value) => ({
      value,
      canonical: canonicalJson(value),
      sha256: sha256Canonical(value),
    })),
    signing: {
      keySeedText: VECTOR_KEY_TEXT,
      publicKey: publicKeyText(createPublicKey(privateKey)),
      proposals: proposals.map((payload) => ({
        payload,
        signedText: signedText('airlock.proposal.v1', payload),
        signature: signPayload('airlock.proposal.v1', payload, privateKey),
      })),
      decisions: [
        {
          payload: decision,
          signedText: signedText('airlock.decision.v1', decision),
          signature: signPayload('airlock.decision.v1', decision, privateKey),
        },
      ],
      actionIds: [
        ['support-bot', 'ticket-42'],
        ['support-bot', 'ticket-43'],
        ['ops-bot', 'ticket-42'],
        ['support-bot', 'é 😀 key'],
      ].map(([agent, key]) => ({ agent, idempotencyKey: key, actionId: actionIdFor(agent, key, privateKey) })),
    },
    planHash: {
      task: 'crm.update_customer',
      input: PLAN_INPUT,
      plan: PLAN,
      hash: sha256Canonical(planHashBody('crm.update_customer', PLAN_INPUT, PLAN)),
    },
    terminalText: {
      escapedRanges: escapedRanges(),
      samples: TERMINAL_SAMPLES.map((text) => ({ text, visible: visible(text), safeJson: safeJson({ text }) })),
    },
    agentView: {
      catalog: VIEW_CATALOG,
      cases: viewStates().map((state) => ({ state, view: JSON.parse(JSON.stringify(agentView(state, VIEW_CATALOG))) })),
    },
    codec: {
      keys: {
        current: VECTOR_KEYS.current,
        keys: Object.fromEntries(Object.entries(VECTOR_KEYS.keys).map(([id, k]) => [id, k.toString('base64')])),
      },
      good,
      refused,
      failure: {
        message: 'The decision is malformed: reason over 1,000 characters — “refused”.',
        type: 'malformed',
        nonRetryable: true,
        details: [{ code: 'oversized', limit: 1000 }],
        encoded: b64(temporal.api.failure.v1.Failure.encode(encodedFailure).finish()),
      },
    },
  };
}

/**
 * Every code point `visible()` escapes, as ranges: the Python client must escape exactly these (its Unicode tables and
 * V8's can differ, and only the whole range shows it).
 */
function escapedRanges(): [number, number][] {
  const ranges: [number, number][] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not text
    const c = String.fromCodePoint(cp);
    if (visible(c) === c) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === cp - 1) last[1] = cp;
    else ranges.push([cp, cp]);
  }
  return ranges;
}

/** Text a target or an agent could send, to be escaped alike on both sides. */
const TERMINAL_SAMPLES = [
  'plain ASCII, é, 中文, 😀',
  'ESC \u001b[2J, BEL \u0007, tab\tand CR\r',
  'bidi \u202eevil\u202c and \u2066isolate\u2069',
  'tags \u{e0049}\u{e0067}\u{e006e}\u{e006f}\u{e0072}\u{e0065}',
  'soft\u00adhyphen, \u034fgrapheme joiner, \u115ffiller, \u3164, \uffa0',
  'zero\u200bwidth, \ufeffBOM, \u2028line, \u2029paragraph, \u061cALM',
  'emoji ❤\ufe0f and 👨\u200d👩\u200d👧',
  'private \ue000 \u{f0000}, music \u{1d173}, \u0600 number sign',
];

type Vectors = Awaited<ReturnType<typeof makeVectors>>;

/** Writes JSON as the repository's prettier formats it (its check covers every JSON file). */
async function writeJson(file: string, value: unknown): Promise<void> {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  const out = await runProcess(
    join(REPO_ROOT, 'node_modules', '.bin', 'prettier'),
    ['--write', file],
    process.env,
    60_000,
  );
  if (out.code !== 0) throw new Error(`prettier failed on ${file}: ${out.stderr}`);
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

describe('the shared vectors and the shipped catalog', () => {
  beforeAll(async () => {
    if (UPDATE) {
      await writeJson(VECTORS_FILE, await makeVectors());
      await writeJson(CATALOG_FILE, defaultCatalog());
    }
  });

  test('canonical JSON, digests, signatures, action ids, plan hash and agent views are what TypeScript computes', async () => {
    const v = readJson<Vectors>(VECTORS_FILE);
    expect(v.canonical.length).toBeGreaterThan(150);
    for (const c of v.canonical) {
      expect(canonicalJson(c.value)).toBe(c.canonical);
      expect(sha256Canonical(c.value)).toBe(c.sha256);
    }
    const key = vectorKey(v.signing.keySeedText);
    expect(publicKeyText(createPublicKey(key))).toBe(v.signing.publicKey);
    for (const p of v.signing.proposals) {
      expect(signedText('airlock.proposal.v1', p.payload)).toBe(p.signedText);
      expect(signPayload('airlock.proposal.v1', p.payload, key)).toBe(p.signature);
    }
    for (const d of v.signing.decisions) {
      expect(signPayload('airlock.decision.v1', d.payload, key)).toBe(d.signature);
    }
    for (const a of v.signing.actionIds) expect(actionIdFor(a.agent, a.idempotencyKey, key)).toBe(a.actionId);
    expect(sha256Canonical(planHashBody(v.planHash.task, v.planHash.input, v.planHash.plan))).toBe(v.planHash.hash);
    for (const c of v.agentView.cases) {
      expect(JSON.parse(JSON.stringify(agentView(c.state as ActionState, v.agentView.catalog)))).toEqual(c.view);
    }
    expect(v.terminalText.escapedRanges).toEqual(escapedRanges());
    for (const t of v.terminalText.samples) {
      expect(visible(t.text)).toBe(t.visible);
      expect(safeJson({ text: t.text })).toBe(t.safeJson);
    }
  });

  test('the sealed payloads open with their keys, the refused ones do not, and the encoded failure decodes', async () => {
    const v = readJson<Vectors>(VECTORS_FILE);
    const codec = new AesGcmCodec(parseCodecKeys(JSON.stringify(v.codec.keys), 'vectors'));
    for (const g of v.codec.good) {
      const [plain] = await codec.decode([parsePayload(g.payload)]);
      expect(defaultPayloadConverter.fromPayload(plain)).toEqual(g.value);
    }
    for (const r of v.codec.refused) await expect(codec.decode([parsePayload(r.payload)])).rejects.toThrow();
    const failure = temporal.api.failure.v1.Failure.decode(Buffer.from(v.codec.failure.encoded, 'base64'));
    // Encoded: the message and stack trace are inside the sealed attributes, not in the clear.
    expect(failure.message).toBe('Encoded failure');
    expect(Buffer.from(failure.encodedAttributes?.data ?? []).toString()).not.toContain('malformed');
    const error = failureConverter.failureToError(await decodeFailure([codec], failure), defaultPayloadConverter);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error.message).toBe(v.codec.failure.message);
    expect((error as ApplicationFailure).type).toBe('malformed');
    expect((error as ApplicationFailure).details).toEqual(v.codec.failure.details);
  });

  test('the catalog shipped with the Python client is defaultCatalog() (AIRLOCK_UPDATE_PYTHON_FIXTURES=1 rewrites it)', () => {
    expect(readJson<unknown>(CATALOG_FILE)).toEqual(JSON.parse(JSON.stringify(defaultCatalog())));
  });

  test('what Python seals and fails, TypeScript opens; its OpenAI tools are toolDefinitions()', async () => {
    const v = readJson<Vectors>(VECTORS_FILE);
    const keysJson = JSON.stringify(v.codec.keys);
    const out = await runProcess(
      PYTHON,
      [join(PYTHON_DIR, 'tests', 'for_node.py')],
      { ...process.env, AIRLOCK_CODEC_KEYS: keysJson, AIRLOCK_CATALOG_FILE: '' },
      60_000,
    );
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    const fromPython = JSON.parse(out.stdout) as {
      payloads: { value: unknown; payload: string }[];
      failure: { message: string; type: string; details: unknown[]; encoded: string };
      openaiTools: unknown;
    };
    const codec = new AesGcmCodec(parseCodecKeys(keysJson, 'vectors'));
    expect(fromPython.payloads.length).toBeGreaterThanOrEqual(4);
    for (const p of fromPython.payloads) {
      const sealed = parsePayload(p.payload);
      expect(Buffer.from(sealed.metadata!.encoding!).toString()).toBe('binary/encrypted');
      expect(Buffer.from(sealed.metadata!['encryption-key-id']!).toString()).toBe('k2');
      // Python's None is written as binary/null, which TypeScript reads as undefined (inside JSON it is null).
      const expected = p.value === null ? undefined : p.value;
      expect(defaultPayloadConverter.fromPayload((await codec.decode([sealed]))[0])).toEqual(expected);
    }
    const failure = temporal.api.failure.v1.Failure.decode(Buffer.from(fromPython.failure.encoded, 'base64'));
    expect(failure.message).toBe('Encoded failure');
    const error = failureConverter.failureToError(await decodeFailure([codec], failure), defaultPayloadConverter);
    expect(error.message).toBe(fromPython.failure.message);
    expect((error as ApplicationFailure).type).toBe(fromPython.failure.type);
    expect((error as ApplicationFailure).details).toEqual(fromPython.failure.details);
    expect(fromPython.openaiTools).toEqual(JSON.parse(JSON.stringify(toolDefinitions(defaultCatalog()))));
  });
});

// --- against the real stack ---------------------------------------------------------------------------------------

describe('the Python client against the real stack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  test(`pytest passes all ${EXPECTED_PYTHON_TESTS} tests; TypeScript reads what Python started, and the attacks changed nothing`, async () => {
    expect(existsSync(PYTHON)).toBe(true);
    // An action the TypeScript client started, for Python to read; and one with an idempotency key, which Python,
    // proposing the same request with the same key, must find (the same action id and request hash in both).
    const tsPlain = await h.airlock.propose({
      task: 'crm.add_note_to_customer',
      input: { customerId: 'C-1003', note: 'from TypeScript' },
      agent: 'support-bot',
      user: 'alice',
    });
    const keyedRequest = {
      task: 'crm.add_note_to_customer',
      input: { customerId: 'C-1005', note: 'keyed from TypeScript — “é”' },
      agent: 'support-bot',
      user: 'alice',
      reason: 'shared key',
    };
    const idempotencyKey = `py-ts-${randomBytes(6).toString('hex')}`;
    const tsKeyed = await h.airlock.propose({ ...keyedRequest, idempotencyKey });
    const handoff = join(mkdtempSync(join(tmpdir(), 'airlock-py-')), 'handoff.jsonl');
    const attackTarget = h.crm.store.customers.get('C-1004')?.tier;

    const env = {
      ...process.env,
      AIRLOCK_TEST_TASK_QUEUE: h.taskQueue,
      AIRLOCK_TEST_KEYS_DIR: h.keysDir,
      AIRLOCK_TEST_HANDOFF: handoff,
      AIRLOCK_TEST_TS_ACTIONS: JSON.stringify({
        plain: tsPlain.id,
        keyed: { id: tsKeyed.id, request: keyedRequest, idempotencyKey },
      }),
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const run = await runProcess(PYTHON, ['-m', 'pytest', join(PYTHON_DIR, 'tests'), '-q', '-rfEs'], env, 240_000);
    const summary = run.stdout.trim().split('\n').pop() ?? '';
    if (run.code !== 0) console.error(`pytest exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
    // Passed, every one: nothing skipped, deselected, expected to fail or in error (warnings are allowed).
    expect({ code: run.code, summary }).toEqual({
      code: 0,
      summary: expect.stringMatching(/^\d+ passed(, \d+ warnings?)? in /),
    });
    expect(Number(/^(\d+) passed/.exec(summary)?.[1])).toBe(EXPECTED_PYTHON_TESTS);

    const records = readFileSync(handoff, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; id: string; customerId?: string; tier?: string });
    // TypeScript reads the actions Python started (decrypting what Python sealed), checks their plans, and approves one.
    const finished = records.filter((r) => r.kind === 'succeeded');
    expect(finished.length).toBeGreaterThanOrEqual(1);
    for (const r of finished) expect((await h.airlock.get(r.id)).status).toBe('succeeded');
    const waiting = records.filter((r) => r.kind === 'awaiting_approval');
    expect(waiting).toHaveLength(1);
    await h.approveAll(waiting[0].id);
    const approved = await h.airlock.result(waiting[0].id, { timeoutMs: 60_000 });
    expect(approved.status).toBe('succeeded');
    expect(approved.agent).toBe('support-bot');
    expect(h.crm.store.customers.get(waiting[0].customerId!)?.tier).toBe(waiting[0].tier);
    // The attacks: each ended invalid before policy, nothing executed, nothing audited.
    const attacks = records.filter((r) => r.kind === 'attack');
    expect(attacks.length).toBeGreaterThanOrEqual(3);
    const audited = new Set(new JsonlAuditLog(h.auditLogPath).read().map((r) => r.actionId));
    for (const a of attacks) {
      const state = await h.airlock.get(a.id);
      expect(state.status).toBe('invalid');
      expect(state.policy).toBeUndefined();
      expect(audited.has(a.id)).toBe(false);
    }
    expect(h.crm.store.customers.get('C-1004')?.tier).toBe(attackTarget);
  });
});
