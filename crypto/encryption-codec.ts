import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError } from '../common/errors';
import type { Undecodable } from '../common/undecodable';

/** Encoding of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Codec keys: all of them decrypt; the current one encrypts. */
export interface CodecKeys {
  current: string;
  keys: Record<string, Buffer>;
}

/**
 * What decode does with a payload it cannot decrypt (not encrypted, an unknown key, a forged or cut ciphertext):
 * `throw` (clients and the codec server: the caller gets an error naming the problem), or `mark` (workers: the
 * payload becomes the {@link Undecodable} marker, which every consumer refuses, because a throw would fail the
 * whole workflow task and let a stranger's message wedge an action).
 */
export type UndecodablePolicy = 'throw' | 'mark';

/**
 * AES-256-GCM over each whole payload (its metadata too), with the key id in the clear so keys can rotate:
 * encrypt with the current key, decrypt with whichever key a payload names. Fails closed: a payload that is not
 * encrypted with one of the keys is never passed through as data.
 */
export class AesGcmCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: Buffer;

  constructor(
    private readonly codecKeys: CodecKeys,
    private readonly onUndecodable: UndecodablePolicy = 'throw',
  ) {
    // A Map, not the parsed object: a key id like "__proto__" or "constructor" must not reach the prototype chain.
    this.keys = new Map(Object.entries(codecKeys.keys));
    for (const [id, key] of this.keys) {
      if (key.length !== 32) throw new ConfigError(`Codec key "${id}" has ${key.length} bytes; AES-256 needs 32.`);
    }
    const current = this.keys.get(codecKeys.current);
    if (!current) throw new ConfigError(`The current codec key "${codecKeys.current}" is not among the keys.`);
    this.current = current;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current, iv, { authTagLength: TAG_BYTES });
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.codecKeys.current),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      try {
        return this.decrypt(payload);
      } catch (err) {
        if (this.onUndecodable === 'throw') throw err;
        const marker: Undecodable = { __airlockUndecodable: true, reason: (err as Error).message };
        return {
          metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') },
          data: Buffer.from(JSON.stringify(marker)),
        };
      }
    });
  }

  private decrypt(payload: Payload): Payload {
    const encoding = Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString();
    if (encoding !== ENCRYPTED_ENCODING) {
      throw new ValueError(
        `A payload is not encrypted (encoding "${encoding.slice(0, 40)}"); Airlock accepts only payloads encrypted with its codec keys.`,
      );
    }
    const keyId = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
    const key = this.keys.get(keyId);
    if (!key)
      throw new ValueError(
        `A payload was encrypted with key "${keyId.slice(0, 40)}", which this process does not have. Add it to the codec keys.`,
      );
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new ValueError('An encrypted payload is too short to hold its IV and tag: it was cut or forged.');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw new ValueError(`An encrypted payload (key "${keyId}") does not authenticate: it was altered or forged.`);
    }
  }
}

/** The key file's form: `{ "current": "k2", "keys": { "k1": "<base64 32 bytes>", "k2": "..." } }`. */
export function parseCodecKeys(json: string, where: string): CodecKeys {
  let raw: { current?: unknown; keys?: Record<string, unknown> };
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`${where} is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw.current !== 'string' || !raw.keys || typeof raw.keys !== 'object') {
    throw new ConfigError(
      `${where} must be { "current": "<key id>", "keys": { "<key id>": "<base64 of 32 bytes>" } }.`,
    );
  }
  return {
    current: raw.current,
    keys: Object.fromEntries(Object.entries(raw.keys).map(([id, k]) => [id, Buffer.from(String(k), 'base64')])),
  };
}

/**
 * Codec keys from the environment, never from the repository: `AIRLOCK_CODEC_KEYS` (the key file's JSON itself) or
 * `AIRLOCK_CODEC_KEY_FILE` (a path to it). Undefined when neither is set.
 */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  if (env.AIRLOCK_CODEC_KEYS) return parseCodecKeys(env.AIRLOCK_CODEC_KEYS, 'AIRLOCK_CODEC_KEYS');
  if (env.AIRLOCK_CODEC_KEY_FILE) {
    let text: string;
    try {
      text = readFileSync(env.AIRLOCK_CODEC_KEY_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `Cannot read AIRLOCK_CODEC_KEY_FILE ${env.AIRLOCK_CODEC_KEY_FILE}: ${(err as Error).message}`,
      );
    }
    return parseCodecKeys(text, env.AIRLOCK_CODEC_KEY_FILE);
  }
  return undefined;
}

/** A new key file's JSON with one random key. */
export function newCodecKeyFile(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  return `${JSON.stringify({ current: id, keys: { [id]: randomBytes(32).toString('base64') } }, null, 2)}\n`;
}
