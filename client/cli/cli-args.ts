import { readFileSync } from 'node:fs';
import { ACTION_STATUSES, type ActionStatus } from '../../common/statuses';
import { CliError } from './cli-context';

/** Option values as the commands take them; each bad value is refused with what to pass instead. */

/** `--input`: JSON text, or `@file` holding it. */
export function parseInput(text: string): unknown {
  const source = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new CliError(`--input is not valid JSON (${(err as Error).message}). Pass a JSON object, or @file.json.`);
  }
}

/** A time given as an age (`30m`, `24h`, `7d`) or an ISO 8601 date. */
export function parseTime(option: string, text: string): Date {
  const age = /^(\d+)(s|m|h|d)$/.exec(text);
  if (age)
    return new Date(
      Date.now() - Number(age[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[age[2] as 's' | 'm' | 'h' | 'd'],
    );
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new CliError(`${option} ${text} is neither an age (30m, 24h, 7d) nor a date (2026-11-25T09:00:00Z).`);
  return new Date(at);
}

/** A whole number from `min` to 1000. */
export function parseCount(option: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 1000)
    throw new CliError(`${option} ${text} must be a whole number from ${min} to 1000.`);
  return n;
}

/** `--status a,b`: Airlock's statuses only. */
export function parseStatuses(text: string | undefined): ActionStatus[] | undefined {
  if (!text) return undefined;
  const statuses = text.split(',').map((s) => s.trim());
  const unknown = statuses.filter((s) => !(ACTION_STATUSES as readonly string[]).includes(s));
  if (unknown.length)
    throw new CliError(`--status ${unknown.join(',')}: not a status. Use any of ${ACTION_STATUSES.join(', ')}.`);
  return statuses as ActionStatus[];
}
