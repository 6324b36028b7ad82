import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, parseCodecKeys, newCodecKeyFile, ENCRYPTED_ENCODING } from '../crypto/encryption-codec';
import { startCodecServer, type CodecServer } from '../crypto/codec-server';
import { temporalCliPath } from '../stack/tools';
import { startHarness, type Harness } from './support/harness';
import { TEST_ENV, testEnv } from './support/test-env';
import { AIRLOCK_BIN } from './support/cli';
import { historyText } from './support/raw-history';

let h: Harness;
let server: CodecServer;
const token = randomBytes(16).toString('hex');
const ui = 'http://localhost:8233';
beforeAll(async () => {
  h = await startHarness();
  server = await startCodecServer({
    codec: new AesGcmCodec(parseCodecKeys(testEnv('codecKeys'), TEST_ENV.codecKeys), 'mark'),
    auth: { token },
    allowedOrigins: [ui],
  });
});
afterAll(async () => {
  await server?.close();
  await h?.close();
});

function temporal(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(temporalCliPath(), args, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

test('the Temporal CLI reads a decrypted history through the codec server, with the bearer token only', async () => {
  const { id } = await h.airlock.propose({
    task: 'crm.add_note_to_customer',
    input: { customerId: 'C-1001', note: 'codec server check' },
    agent: 'support-bot',
    user: 'alice',
  });
  await h.airlock.result(id);
  const base = ['workflow', 'show', '-w', id, '--address', testEnv('temporalAddress'), '-o', 'json'];

  const withCodec = await temporal(...base, '--codec-endpoint', server.url, '--codec-auth', `Bearer ${token}`);
  expect(withCodec.code).toBe(0);
  expect(historyText(JSON.parse(withCodec.out))).toContain('codec server check');

  const plain = await temporal(...base);
  expect(plain.code).toBe(0);
  const plainText = historyText(JSON.parse(plain.out));
  expect(plainText).not.toContain('codec server check');
  expect(plainText).toContain(ENCRYPTED_ENCODING);

  const wrongToken = await temporal(...base, '--codec-endpoint', server.url, '--codec-auth', 'Bearer nope');
  expect(wrongToken.out).not.toContain('codec server check');
  expect(wrongToken.out).not.toContain(Buffer.from('codec server check').toString('base64').slice(0, 16));
});

test('the codec server answers the Web UI’s CORS preflight and refuses requests without the token', async () => {
  const preflight = await fetch(`${server.url}/decode`, {
    method: 'OPTIONS',
    headers: {
      Origin: ui,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(ui);
  expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
  expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/i);
  const stranger = await fetch(`${server.url}/decode`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://evil.example' },
  });
  expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

  const body = JSON.stringify({ payloads: [] });
  expect((await fetch(`${server.url}/decode`, { method: 'POST', body, headers: { Origin: ui } })).status).toBe(401);
  const ok = await fetch(`${server.url}/decode`, {
    method: 'POST',
    body,
    headers: { Origin: ui, Authorization: `Bearer ${token}` },
  });
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ payloads: [] });
});

test('only when asked for (the dev Web UI has no login), a trusted UI origin needs no token; others still do', async () => {
  // The default: the UI's origin alone opens nothing.
  expect(
    (
      await fetch(`${server.url}/decode`, {
        method: 'POST',
        body: JSON.stringify({ payloads: [] }),
        headers: { Origin: ui },
      })
    ).status,
  ).toBe(401);
  const dev = await startCodecServer({
    codec: new AesGcmCodec(parseCodecKeys(newCodecKeyFile('d1'), 'dev')),
    auth: { token, trustedUiOrigin: ui },
    allowedOrigins: [ui],
  });
  try {
    const body = JSON.stringify({ payloads: [] });
    expect((await fetch(`${dev.url}/decode`, { method: 'POST', body, headers: { Origin: ui } })).status).toBe(200);
    expect(
      (await fetch(`${dev.url}/decode`, { method: 'POST', body, headers: { Origin: 'https://evil.example' } })).status,
    ).toBe(401);
    expect((await fetch(`${dev.url}/decode`, { method: 'POST', body })).status).toBe(401);
  } finally {
    await dev.close();
  }
});

test('keys rotate: encrypt with the current key, decrypt with any; a missing key is a clear error', async () => {
  const k1 = parseCodecKeys(newCodecKeyFile('k1'), 'k1');
  const k2 = parseCodecKeys(newCodecKeyFile('k2'), 'k2');
  const old = new AesGcmCodec(k1);
  const rotated = new AesGcmCodec({ current: 'k2', keys: { ...k1.keys, ...k2.keys } });
  const payload = defaultPayloadConverter.toPayload({ customerId: 'C-1001' });

  const [byOld] = await old.encode([payload]);
  const [byNew] = await rotated.encode([payload]);
  expect(Buffer.from(byNew.metadata!['encryption-key-id']).toString()).toBe('k2');
  expect(Buffer.from(byNew.data!).toString()).not.toContain('C-1001');
  expect(defaultPayloadConverter.fromPayload((await rotated.decode([byOld]))[0])).toEqual({ customerId: 'C-1001' });
  expect(defaultPayloadConverter.fromPayload((await rotated.decode([byNew]))[0])).toEqual({ customerId: 'C-1001' });
  await expect(new AesGcmCodec(k2).decode([byOld])).rejects.toThrow(
    /encrypted with key "k1", which this process does not have/,
  );

  const tampered = { ...byNew, data: Buffer.from(byNew.data!).fill(0, 20, 21) };
  await expect(rotated.decode([tampered])).rejects.toThrow();
});

test('a payload not encrypted with one of the keys is never passed through: not encrypted, unknown or prototype key ids, cut or forged', async () => {
  const keys = parseCodecKeys(newCodecKeyFile('k1'), 'k1');
  const strict = new AesGcmCodec(keys);
  const marking = new AesGcmCodec(keys, 'mark');
  const plain = defaultPayloadConverter.toPayload({ customerId: 'C-1001' });
  const [good] = await strict.encode([plain]);
  const withKeyId = (id: string) => ({ ...good, metadata: { ...good.metadata, 'encryption-key-id': Buffer.from(id) } });
  const data = Buffer.from(good.data!);
  const cases: [string, typeof good, RegExp][] = [
    ['not encrypted', plain, /not encrypted/],
    ['an unknown key id', withKeyId('k7'), /key "k7", which this process does not have/],
    ['"__proto__" as key id', withKeyId('__proto__'), /which this process does not have/],
    ['"constructor" as key id', withKeyId('constructor'), /which this process does not have/],
    ['a cut tag', { ...good, data: data.subarray(0, data.length - 4) }, /does not authenticate/],
    ['too short to hold IV and tag', { ...good, data: data.subarray(0, 20) }, /too short/],
    ['a changed byte', { ...good, data: Buffer.from(data).fill(1, 15, 16) }, /does not authenticate/],
  ];
  for (const [, payload, message] of cases) {
    await expect(strict.decode([payload])).rejects.toThrow(message);
    const [marked] = await marking.decode([payload]);
    expect(defaultPayloadConverter.fromPayload(marked)).toEqual({
      __airlockUndecodable: true,
      reason: expect.stringMatching(message),
    });
  }
  expect(() => new AesGcmCodec({ current: '__proto__', keys: keys.keys })).toThrow(
    /current codec key "__proto__" is not among the keys/,
  );
});

test('the codec server accepts a verified OIDC access token (JWKS), and refuses a forged, expired, foreign or absent one', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const idp = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  const jwksUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}/jwks`;
  const oidc = { jwksUrl, issuer: 'https://idp.example', audience: 'temporal-ui' };
  const codec = await startCodecServer({
    codec: new AesGcmCodec(parseCodecKeys(newCodecKeyFile('o1'), 'o1'), 'mark'),
    auth: { oidc },
    allowedOrigins: [ui],
  });
  const token = (claims: { iss?: string; aud?: string; exp?: number }, key = privateKey) =>
    new SignJWT({ sub: 'ops@example.com' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(claims.iss ?? oidc.issuer)
      .setAudience(claims.aud ?? oidc.audience)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(key);
  const status = async (auth?: string) =>
    (
      await fetch(`${codec.url}/decode`, {
        method: 'POST',
        body: JSON.stringify({ payloads: [] }),
        headers: { Origin: ui, ...(auth ? { Authorization: auth } : {}) },
      })
    ).status;
  try {
    expect(await status(`Bearer ${await token({})}`)).toBe(200);
    const stranger = (await generateKeyPair('RS256')).privateKey;
    expect(await status(`Bearer ${await token({}, stranger)}`)).toBe(401);
    expect(await status(`Bearer ${await token({ aud: 'another-app' })}`)).toBe(401);
    expect(await status(`Bearer ${await token({ iss: 'https://evil.example' })}`)).toBe(401);
    expect(await status(`Bearer ${await token({ exp: Math.floor(Date.now() / 1000) - 60 })}`)).toBe(401);
    expect(await status('Bearer not.a.jwt')).toBe(401);
    expect(await status()).toBe(401); // the UI's origin alone opens nothing
  } finally {
    await codec.close();
    await new Promise((r) => idp.close(r));
  }
});

test('the codec server gives the refusal marker, never the payload, for one it cannot decrypt', async () => {
  const plain = defaultPayloadConverter.toPayload({ injected: 'by a stranger' });
  const toJson = (p: typeof plain) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  });
  const res = await fetch(`${server.url}/decode`, {
    method: 'POST',
    body: JSON.stringify({ payloads: [toJson(plain)] }),
    headers: { Authorization: `Bearer ${token}` },
  });
  const [out] = ((await res.json()) as { payloads: { data: string }[] }).payloads;
  expect(JSON.parse(Buffer.from(out.data, 'base64').toString())).toEqual({
    __airlockUndecodable: true,
    reason: expect.stringContaining('not encrypted'),
  });
});

test('`airlock codec-server` serves it for production: it refuses to start open, and then needs the token', async () => {
  const start = (env: Record<string, string>) =>
    spawn(process.execPath, [AIRLOCK_BIN, 'codec-server', '--port', '0'], {
      env: { ...process.env, AIRLOCK_CODEC_KEYS: testEnv('codecKeys'), ...env },
    });
  const open = start({});
  const refused = await new Promise<{ code: number | null; err: string }>((resolve) => {
    let err = '';
    open.stderr.on('data', (c: Buffer) => (err += c.toString()));
    open.on('close', (code) => resolve({ code, err }));
  });
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/never decodes for anyone who asks/);

  const child = start({ AIRLOCK_CODEC_SERVER_TOKEN: token });
  try {
    const url = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
    });
    const body = JSON.stringify({ payloads: [] });
    expect((await fetch(`${url}/decode`, { method: 'POST', body })).status).toBe(401);
    expect(
      (await fetch(`${url}/decode`, { method: 'POST', body, headers: { Authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
  } finally {
    child.kill('SIGTERM');
  }
});
