import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AuditCheckpoint } from './audit-store';

/**
 * The JSON Lines log's head checkpoint: a small file `{seq, hash, at}` beside the log (or, better, on storage the
 * log's writers cannot rewrite), replaced after every append. A log whose last record is older than it was truncated.
 *
 * Contract: callers must advance it only while holding the log's lock, so that it never moves back.
 */
export class FileCheckpoint {
  constructor(readonly path: string) {}

  /** The checkpoint, if one was written; a file that is not one is an error (it was tampered with). */
  read(): AuditCheckpoint | undefined {
    if (!existsSync(this.path)) return undefined;
    let value: Partial<AuditCheckpoint>;
    try {
      value = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<AuditCheckpoint>;
    } catch {
      value = {};
    }
    if (!Number.isSafeInteger(value.seq) || typeof value.hash !== 'string' || typeof value.at !== 'string')
      throw new Error(
        `The audit checkpoint ${this.path} is not a checkpoint ({"seq", "hash", "at"}): it was changed. Keep a copy, and check the log with \`airlock audit verify\` against the head hash you kept elsewhere.`,
      );
    return { seq: value.seq as number, hash: value.hash, at: value.at };
  }

  /** Replaces it atomically (write, then rename): a crash leaves the old checkpoint or the new one, never half. */
  write(checkpoint: AuditCheckpoint): void {
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 });
    renameSync(temp, this.path);
  }
}
