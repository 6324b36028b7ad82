import { ConfigError } from './errors';

/** Parses `30s`, `15m`, `24h`, `7d` into seconds; anything else throws, saying where it was written. */
export function parseDurationSeconds(text: string, where: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!m) throw new ConfigError(`${where}: "${text}" is not a duration; write e.g. 30s, 15m, 24h or 7d.`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
