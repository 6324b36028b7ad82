import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { p256 } from '@noble/curves/nist';
import type { RegisteredPasskey } from '../config/passkeys';
import { fromBase64Url } from '../common/base64';
import { passkeyChallenge, type PasskeyAssertion, type PasskeyVerdict } from '../common/webauthn-assertion';
import { signedText, type SignaturePurpose } from '../common/signing';

/**
 * Verifies a passkey assertion for `challenge` with @simplewebauthn/server: the worker's second, independent
 * implementation of the check the workflow makes in pure JavaScript (common/webauthn-assertion.ts), and the inbox's
 * check of logins. The user must be present and verified, and the assertion made in a top-level page of the
 * passkey's origin. The counter is returned for the caller's clone check.
 */
export async function verifyPasskeyResponse(
  challenge: string,
  assertion: PasskeyAssertion,
  passkey: RegisteredPasskey,
): Promise<PasskeyVerdict> {
  if (assertion.credentialId !== passkey.id) return { valid: false, why: 'the assertion is by another credential' };
  // The library reads a DER signature leniently (a wrong outer length passes): one signature would then have many
  // encodings, each a "different" decision. Only its one canonical encoding is accepted, as the workflow's check does.
  if (!canonicalDerSignature(fromBase64Url(assertion.signature)))
    return { valid: false, why: 'the signature is not canonical DER' };
  const clientData = fromBase64Url(assertion.clientDataJSON);
  try {
    const parsed = clientData && (JSON.parse(Buffer.from(clientData).toString('utf8')) as Record<string, unknown>);
    if (!parsed || parsed.crossOrigin === true || parsed.topOrigin !== undefined)
      return { valid: false, why: 'the assertion was made inside a frame' };
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response: {
        id: assertion.credentialId,
        rawId: assertion.credentialId,
        type: 'public-key',
        response: {
          authenticatorData: assertion.authenticatorData,
          clientDataJSON: assertion.clientDataJSON,
          signature: assertion.signature,
        },
        clientExtensionResults: {},
      },
      expectedChallenge: challenge,
      expectedOrigin: passkey.origin,
      expectedRPID: passkey.rpId,
      expectedType: 'webauthn.get',
      credential: { id: passkey.id, publicKey: fromBase64Url(passkey.cose) as Uint8Array<ArrayBuffer>, counter: 0 },
      requireUserVerification: true,
    });
    return verified
      ? { valid: true, counter: authenticationInfo.newCounter }
      : { valid: false, why: 'the signature does not verify' };
  } catch (err) {
    return { valid: false, why: String((err as Error).message ?? err).slice(0, 200) };
  }
}

/** Whether `bytes` is an ECDSA P-256 signature in DER exactly as it encodes again (strict, minimal, nothing after). */
function canonicalDerSignature(bytes: Uint8Array | undefined): boolean {
  if (!bytes) return false;
  try {
    return Buffer.from(p256.Signature.fromDER(bytes).toDERRawBytes()).equals(Buffer.from(bytes));
  } catch {
    return false;
  }
}

/** Verifies a passkey assertion over a signed payload (a decision): its challenge is the signed text's hash. */
export function verifyPasskeyPayload(
  purpose: SignaturePurpose,
  payload: unknown,
  assertion: PasskeyAssertion,
  passkey: RegisteredPasskey,
): Promise<PasskeyVerdict> {
  return verifyPasskeyResponse(passkeyChallenge(signedText(purpose, payload)), assertion, passkey);
}
