/** What replaces a secret value wherever it appears. */
export const REDACTED = '[REDACTED]';

/**
 * Replaces every occurrence of every secret in a JSON-like value (in strings and keys, at any depth).
 * Secrets shorter than 4 characters are still replaced: a short secret is still a secret.
 */
export function redact<T>(value: T, secrets: readonly string[]): T {
  const needles = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
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

/** Redacts an error's message, keeping its class and type where it can. */
export function redactError(err: unknown, secrets: readonly string[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  e.message = redact(e.message, secrets);
  if (e.stack) e.stack = redact(e.stack, secrets);
  return e;
}
