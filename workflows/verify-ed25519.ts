import { ed25519 } from '@noble/curves/ed25519';
import { decodeBase64 } from '../common/base64';
import type { SignatureVerifier } from '../common/approval-rules';

const encoder = new TextEncoder();

/**
 * Ed25519 verification in pure JavaScript (@noble/curves), deterministic and free of Node built-ins, so the
 * decision validator can refuse an unsigned or forged decision before it reaches history. The handler's local
 * activity checks again with Node's crypto, and `executeAction` once more.
 */
export const verifyEd25519: SignatureVerifier = (text, signature, publicKey) => {
  const sig = decodeBase64(signature);
  const key = decodeBase64(publicKey);
  if (!sig || !key || sig.length !== 64 || key.length !== 32) return false;
  try {
    return ed25519.verify(sig, encoder.encode(text), key, { zip215: false }); // RFC 8032, as Node verifies
  } catch {
    return false;
  }
};
