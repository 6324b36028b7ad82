import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentities, type Identities } from '../config/identities';
import { canonicalPersonId } from '../common/identifiers';
import { loadPolicies, type CedarPolicyEngine } from '../policy/cedar-policy-engine';
import { rawPublicKey } from '../crypto/signing-keys';
import type { TaskRegistry, TaskSummary } from '../tasks/task-registry';
import { visible } from '../common/terminal-text';
import type { McpIdentity } from './mcp-server';

/** Where the MCP server reads what the workers enforce: the same policies and identity files. */
export interface PolicyFiles {
  policiesDir: string;
  approversFile: string;
  agentsFile: string;
}

/**
 * The policies and identities as the workers load them, read again whenever one of their files changes: what an
 * agent could ever be allowed (so the MCP server lists only that), and each agent's registered key.
 */
export interface PolicyView {
  /** Whether policy could ever allow this agent (for this user) the task, or a preview of it. */
  mayEverAllow(identity: McpIdentity, task: TaskSummary, preview: boolean): boolean;
  /** The agent's registered public key (raw, base64), as the agents file says now; undefined if not registered. */
  agentKey(agent: string): string | undefined;
  /** Reads the files again if any changed; returns whether the view changed. A file that fails to load keeps the last. */
  reload(): boolean;
}

const policyFilesOf = (f: PolicyFiles) => [
  join(f.policiesDir, 'policies.cedar'),
  join(f.policiesDir, 'airlock.cedarschema'),
  join(f.policiesDir, 'entities.json'),
];
const identityFilesOf = (f: PolicyFiles) => [f.approversFile, f.agentsFile];

/** The files' modification times and sizes: a change in any means read them again. */
function stamp(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const st = statSync(file);
        return `${st.mtimeMs}:${st.size}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Loads the view; throws ConfigError when the files do not load at start. Later, the identity files and the policies
 * are read again apart, and fail apart: identities that do not load refuse every agent's key (so no token works until
 * they are fixed: a key being rotated or an agent being removed must not leave the old key in force), while policies
 * that do not load keep the last good ones (a policy being edited must not take the tools away, nor show more).
 */
export function loadPolicyView(files: PolicyFiles, registry: TaskRegistry): PolicyView {
  const [policyPaths, identityPaths] = [policyFilesOf(files), identityFilesOf(files)];
  let [policiesSeen, identitiesSeen] = [stamp(policyPaths), stamp(identityPaths)];
  let identities: Identities | undefined = loadIdentities(files);
  let engine: CedarPolicyEngine = loadPolicies(files.policiesDir, registry, identities);
  let answers = new Map<string, boolean>();
  const complain = (what: string, err: unknown, then: string) =>
    process.stderr.write(
      `airlock mcp: the ${what} changed and do not load (${visible((err as Error).message)}); ${then}\n`,
    );
  return {
    mayEverAllow(identity, task, preview) {
      const key = JSON.stringify([identity.agent, identity.user ?? null, task.name, preview]);
      let answer = answers.get(key);
      if (answer === undefined) {
        try {
          answer = engine.mayEverAllow({
            agent: canonicalPersonId(identity.agent),
            user: identity.user ? canonicalPersonId(identity.user) : undefined,
            task: task.name,
            risk: task.risk,
            preview,
          });
        } catch (err) {
          // Unknown is not never: the tool is shown, and the workers decide each proposal.
          process.stderr.write(
            `airlock mcp: policy could not be asked about ${task.name}: ${visible((err as Error).message)}\n`,
          );
          answer = true;
        }
        answers.set(key, answer);
      }
      return answer;
    },
    agentKey(agent) {
      const found = identities?.agents.get(canonicalPersonId(agent));
      return found ? rawPublicKey(found.publicKey) : undefined;
    },
    reload() {
      const [policiesNow, identitiesNow] = [stamp(policyPaths), stamp(identityPaths)];
      if (policiesNow === policiesSeen && identitiesNow === identitiesSeen) return false;
      if (identitiesNow !== identitiesSeen) {
        identitiesSeen = identitiesNow;
        answers = new Map();
        try {
          identities = loadIdentities(files);
        } catch (err) {
          identities = undefined;
          complain('approvers or agents files', err, 'every token is refused until they are fixed.');
        }
      }
      policiesSeen = policiesNow;
      // Without identities the policies cannot be loaded as the workers load them: the last ones stay.
      if (!identities) return true;
      try {
        engine = loadPolicies(files.policiesDir, registry, identities);
      } catch (err) {
        complain('policies', err, 'still using the last ones that did. Fix the files.');
        return false;
      }
      answers = new Map();
      return true;
    },
  };
}
