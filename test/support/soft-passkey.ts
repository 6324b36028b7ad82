import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { PasskeyEntry } from '../../config/passkeys';
import { toBase64Url } from '../../common/base64';
import { encodePasskeySignature, passkeyChallenge, type PasskeyAssertion } from '../../common/webauthn-assertion';
import { signedText } from '../../common/signing';
import type { DecisionPayload, SignedDecision } from '../../common/types';

/** What an authenticator is told to put in one assertion; each can be bent by an attack test. */
export interface AssertionOptions {
  origin?: string;
  rpId?: string;
  type?: string;
  crossOrigin?: boolean;
  flags?: number;
  counter?: number;
}

/**
 * A software passkey for tests that need many signed decisions quickly (the browser tests use Chromium's virtual
 * authenticator instead): an ES256 key, its COSE public key as an authenticator registers it, and assertions built
 * byte for byte as WebAuthn §6.1 and §5.8.1 describe.
 */
export class SoftPasskey {
  readonly id: string;
  private readonly key: KeyObject;
  readonly cose: string;
  private counter = 0;

  constructor(
    readonly rpId: string,
    readonly origin: string,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const coseKey = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x as string, 'base64url')],
      [-3, Buffer.from(jwk.y as string, 'base64url')],
    ]);
    this.cose = toBase64Url(isoCBOR.encode(coseKey as never));
    this.id = toBase64Url(createHash('sha256').update(this.cose).digest().subarray(0, 16));
  }

  /** Its entry for the approvers file. */
  entry(): PasskeyEntry {
    return {
      id: this.id,
      publicKey: this.cose,
      rpId: this.rpId,
      origin: this.origin,
      addedAt: new Date().toISOString(),
    };
  }

  /** An assertion over `challenge` (base64url); the counter advances unless one is given. */
  assert(challenge: string, o: AssertionOptions = {}): PasskeyAssertion {
    const counter = o.counter ?? ++this.counter;
    const client = {
      type: o.type ?? 'webauthn.get',
      challenge,
      origin: o.origin ?? this.origin,
      crossOrigin: o.crossOrigin ?? false,
    };
    const clientBytes = Buffer.from(JSON.stringify(client));
    const authData = Buffer.alloc(37);
    createHash('sha256')
      .update(o.rpId ?? this.rpId)
      .digest()
      .copy(authData, 0);
    authData[32] = o.flags ?? 0x05; // user present and verified
    authData.writeUInt32BE(counter, 33);
    const clientHash = createHash('sha256').update(clientBytes).digest();
    const signature = sign('sha256', Buffer.concat([authData, clientHash]), this.key); // DER, as authenticators sign
    return {
      credentialId: this.id,
      authenticatorData: toBase64Url(authData),
      clientDataJSON: toBase64Url(clientBytes),
      signature: toBase64Url(signature),
    };
  }

  /** A decision signed with this passkey. */
  signDecision(payload: DecisionPayload, o: AssertionOptions = {}): SignedDecision {
    const assertion = this.assert(passkeyChallenge(signedText('airlock.decision.v1', payload)), o);
    return { payload, signature: encodePasskeySignature(assertion) };
  }
}
