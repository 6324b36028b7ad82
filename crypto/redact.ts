/** What replaces a secret value wherever it appears. */
export const REDACTED = '[REDACTED]';

/**
 * The forms a secret can take in text that leaves an activity: as is, base64 and base64url (a Basic auth header, a
 * token a target echoes back encoded), and URL-encoded (a query string, a form body). Encoded forms of very short
 * secrets are left out: a few base64 characters would match ordinary text.
 */
function encodedForms(secret: string): string[] {
  if (secret.length < 8) return [secret];
  const bytes = Buffer.from(secret, 'utf8');
  const b64 = bytes.toString('base64');
  return [
    secret,
    b64,
    b64.replace(/=+$/, ''),
    bytes.toString('base64url'),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
  ];
}

/**
 * Replaces every occurrence of every secret, and of its encoded forms, in a JSON-like value (in strings and keys, at
 * any depth). Secrets shorter than 4 characters are still replaced: a short secret is still a secret.
 */
export function redact<T>(value: T, secrets: readonly string[]): T {
  const needles = [...new Set(secrets.filter((s) => s.length > 0).flatMap(encodedForms))]
    .filter((n) => n.length > 0)
    .sort((a, b) => b.length - a.length);
  if (!needles.length) return value;
  const scrub = (s: string): string => needles.reduce((acc, n) => acc.split(n).join(REDACTED), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [scrub(k), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * Redacts an error's message and stack, and those of its causes (an SDK error wrapping the HTTP response that
 * carried a secret), keeping each error's class and type.
 */
export function redactError(err: unknown, secrets: readonly string[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const seen = new Set<unknown>();
  for (let cur: unknown = e; cur instanceof Error && !seen.has(cur); cur = (cur as { cause?: unknown }).cause) {
    seen.add(cur);
    cur.message = redact(cur.message, secrets);
    if (cur.stack) cur.stack = redact(cur.stack, secrets);
    const cause = (cur as { cause?: unknown }).cause;
    if (cause !== undefined && !(cause instanceof Error)) (cur as { cause?: unknown }).cause = redact(cause, secrets);
  }
  return e;
}
