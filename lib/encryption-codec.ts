import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError } from '../common/errors';

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
 * AES-256-GCM over each whole payload (its metadata too), with the key id in the clear so keys can rotate:
 * encrypt with the current key, decrypt with whichever key a payload names. Payloads that are not encrypted pass
 * through decode unchanged, so histories written before encryption stay readable.
 */
export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {
    if (!keys.keys[keys.current]) throw new ConfigError(`The current codec key "${keys.current}" is not among the keys.`);
    for (const [id, key] of Object.entries(keys.keys)) {
      if (key.length !== 32) throw new ConfigError(`Codec key "${id}" has ${key.length} bytes; AES-256 needs 32.`);
    }
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.keys.keys[this.keys.current], iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.keys.current),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.keys.keys[keyId];
      if (!key) throw new ValueError(`Payload was encrypted with key "${keyId}", which this process does not have. Add it to the codec keys.`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
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
    throw new ConfigError(`${where} must be { "current": "<key id>", "keys": { "<key id>": "<base64 of 32 bytes>" } }.`);
  }
  return { current: raw.current, keys: Object.fromEntries(Object.entries(raw.keys).map(([id, k]) => [id, Buffer.from(String(k), 'base64')])) };
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
      throw new ConfigError(`Cannot read AIRLOCK_CODEC_KEY_FILE ${env.AIRLOCK_CODEC_KEY_FILE}: ${(err as Error).message}`);
    }
    return parseCodecKeys(text, env.AIRLOCK_CODEC_KEY_FILE);
  }
  return undefined;
}

/** A new key file's JSON with one random key. */
export function newCodecKeyFile(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  return `${JSON.stringify({ current: id, keys: { [id]: randomBytes(32).toString('base64') } }, null, 2)}\n`;
}
