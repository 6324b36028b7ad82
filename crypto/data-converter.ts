import type { DataConverter } from '@temporalio/common';
import { ConfigError } from '../common/errors';
import { AesGcmCodec, codecKeysFromEnv, type CodecKeys, type UndecodablePolicy } from './encryption-codec';

/** Path of the failure converter module (message and stack trace encoded), for clients, workers and the bundler. */
export const FAILURE_CONVERTER_PATH = require.resolve('../common/failure-converter');

/**
 * The data converter of every Airlock client and worker: payloads and failure details encrypted, and nothing
 * accepted that is not. Workers use `mark` (see {@link UndecodablePolicy}), clients `throw`.
 */
export function airlockDataConverter(keys: CodecKeys, onUndecodable: UndecodablePolicy = 'throw'): DataConverter {
  return { payloadCodecs: [new AesGcmCodec(keys, onUndecodable)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/**
 * Codec keys from the environment; Airlock does not run without them, since history would then hold input and
 * output values in plain text.
 */
export function requireCodecKeys(env: NodeJS.ProcessEnv = process.env): CodecKeys {
  const keys = codecKeysFromEnv(env);
  if (!keys) {
    throw new ConfigError(
      'No payload encryption keys: set AIRLOCK_CODEC_KEY_FILE to a key file ({"current":"k1","keys":{"k1":"<base64 of 32 random bytes>"}}) ' +
        'or AIRLOCK_CODEC_KEYS to its JSON. The local stack (`npm start`) creates one in .airlock/codec-keys.json.',
    );
  }
  return keys;
}
