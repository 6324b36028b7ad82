import type { DiffEntry } from './types';
import { canonicalJson } from './canonical-json';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Field-by-field difference of two JSON values; nested objects are compared per field, arrays as wholes. */
export function diffValues(before: unknown, after: unknown, path = ''): DiffEntry[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => {
      const p = path ? `${path}.${key}` : key;
      if (!(key in before) || before[key] === undefined)
        return after[key] === undefined ? [] : [{ path: p, op: 'add' as const, after: after[key] }];
      if (!(key in after) || after[key] === undefined) return [{ path: p, op: 'remove' as const, before: before[key] }];
      return diffValues(before[key], after[key], p);
    });
  }
  if (canonicalJson(before) === canonicalJson(after)) return [];
  return [{ path: path || '(value)', op: 'change', before, after }];
}
