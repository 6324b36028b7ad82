/** A comma-separated list from an environment variable (`a, b,c`), its items trimmed; empty when unset or blank. */
export function envList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
