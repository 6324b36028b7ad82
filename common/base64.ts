const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const valuesOf = (alphabet: string) => new Map([...alphabet].map((c, i) => [c, i]));
const STANDARD_VALUES = valuesOf(STANDARD);
const URL_SAFE_VALUES = valuesOf(URL_SAFE);

/** Decodes unpadded text in one base64 alphabet; undefined at the first character outside it. */
function decodeWith(s: string, values: ReadonlyMap<string, number>): Uint8Array | undefined {
  if (s.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of s) {
    const v = values.get(c);
    if (v === undefined) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Decodes standard base64 (with or without padding) without Node's Buffer, which workflow code does not have.
 * Returns undefined for anything that is not base64, so a hostile string is refused rather than half-decoded.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const s = text.replace(/=+$/, '');
  if (text.length - s.length > 2) return undefined;
  return decodeWith(s, STANDARD_VALUES);
}

/** Decodes unpadded base64url (WebAuthn's encoding), or undefined for anything else. Workflow-safe. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  return decodeWith(text, URL_SAFE_VALUES);
}

/** Encodes bytes as unpadded base64url. Workflow-safe. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let k = 0; k < chars; k++) out += URL_SAFE[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}
