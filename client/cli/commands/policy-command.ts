import { existsSync } from 'node:fs';
import { visible } from '../../../common/terminal-text';
import { JsonlAuditLog } from '../../../audit/audit-log';
import { openAuditStore } from '../../../audit/open-audit-store';
import { loadIdentities } from '../../../config/identities';
import { backTest } from '../../../policy/back-test';
import { loadPolicies } from '../../../policy/cedar-policy-engine';
import { createDefaultRegistry } from '../../../tasks';
import { formatBackTest, formatExplain, recordedActions } from '../policy-report';
import { CliError, EXIT, airlock, color, print, useProfile } from '../cli-context';
import { auditConfigOf, awsForCli } from './audit-settings';
import { identityFiles } from './identity-files';

/** What `airlock policy test` was asked for. */
export interface PolicyTestOptions {
  auditLog?: string;
  approvers?: string;
  agents?: string;
  running: boolean;
}

/**
 * `airlock policy test <dir>`: asks the policies in `dir` about every action in the audit log and every running one,
 * and exits 1 if any would be decided differently.
 */
export async function policyTestCommand(dir: string, o: PolicyTestOptions): Promise<void> {
  useProfile();
  const identities = loadIdentities(identityFiles(o));
  const registry = createDefaultRegistry();
  const candidate = loadPolicies(dir, registry, identities);
  const logPath = o.auditLog ?? process.env.AIRLOCK_AUDIT_LOG;
  if (logPath && !existsSync(logPath))
    throw new CliError(`No audit log at ${visible(logPath)}: nothing to test the policies against. Check --audit-log.`);
  // A deployment's DynamoDB audit log, unless a file is named.
  const table = !logPath && process.env.AIRLOCK_AUDIT_TABLE ? auditConfigOf({}) : undefined;
  if (!logPath && !table && !o.running)
    throw new CliError(
      'Nothing to test the policies against: pass --audit-log <path> (or set AIRLOCK_AUDIT_LOG or AIRLOCK_AUDIT_TABLE), or leave out --no-running.',
    );
  const actions = await recordedActions({
    auditLog: logPath ? new JsonlAuditLog(logPath) : table && openAuditStore(table, awsForCli()),
    client: o.running ? await airlock() : undefined,
  });
  const report = backTest(candidate, registry, actions);
  print(formatBackTest(report, dir, color), { candidate: dir, ...report });
  if (report.changes.length) throw new CliError('', EXIT.error);
}

/** `airlock policy explain <action-id>`: which policies and facts decided an action, and what shadow policies would have. */
export async function policyExplainCommand(id: string): Promise<void> {
  const state = await (await airlock()).get(id);
  print(formatExplain(state, color), {
    id: state.id,
    task: state.task,
    status: state.status,
    policy: state.policy ?? null,
  });
}
