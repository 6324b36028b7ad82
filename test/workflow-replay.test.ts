import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { airlockDataConverter } from '../crypto/data-converter';
import { parseCodecKeys } from '../crypto/encryption-codec';
import { testEnv } from './support/test-env';
import { usageLedgerId } from '../common/task-queue';

// Runs recorded by an earlier version (with its own test codec key) must replay on this one: an action waiting for
// approval across a deploy, or finishing on a new worker, would otherwise fail every workflow task from then on.
// test/fixtures/histories/airlock-5e6a003.json was recorded by the version before two-task actions (four workflow
// tasks), airlock-fea4a79.json by the one whose admission was a local activity (before admitAndExecute), and
// airlock-54230c9.json by the first with policy facts and usage ledgers (a refund decided on its plan, and its ledger),
// airlock-4eb2729.json by the first that notifies approvers and keeps a memo while it waits (both patched steps), and
// airlock-01c48db.json by the one whose admission says whether the worker notifies at all (its recorder did not).
//
// Its two histories with a decision in them (approved-succeeded, rejected) are not replayed here: the SDK's history
// replayer fails on them with the very version that recorded them (a local activity inside an update handler), while
// a live worker replays such histories at every task (test/replay-every-task.test.ts).
const REPLAYABLE = ['auto-approved-succeeded', 'dry-run-planned', 'denied', 'awaiting-approval'];
const FIXTURES = [
  'airlock-5e6a003.json',
  'airlock-fea4a79.json',
  'airlock-54230c9.json',
  'airlock-4eb2729.json',
  'airlock-01c48db.json',
];
/** Histories only a fixture of a later version holds. */
const ALSO: Record<string, string[]> = {
  'airlock-54230c9.json': ['refund-awaiting-approval', 'usage-ledger'],
  'airlock-4eb2729.json': ['refund-awaiting-approval', 'usage-ledger'],
  'airlock-01c48db.json': ['refund-awaiting-approval', 'usage-ledger'],
};
const fixtures = Object.fromEntries(
  FIXTURES.map((file) => [
    file,
    JSON.parse(readFileSync(join(__dirname, 'fixtures', 'histories', file), 'utf8')) as {
      codecKeys: unknown;
      histories: Record<string, string>;
    },
  ]),
);

test.each(FIXTURES.flatMap((file) => [...REPLAYABLE, ...(ALSO[file] ?? [])].map((name) => [file, name])))(
  'a run an earlier version recorded (%s: %s) replays on this one',
  async (file, name) => {
    const fixture = fixtures[file];
    const history = temporal.api.history.v1.History.decode(Buffer.from(fixture.histories[name], 'base64'));
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: testEnv('workflowBundle') },
        dataConverter: airlockDataConverter(parseCodecKeys(JSON.stringify(fixture.codecKeys), 'fixture'), 'mark'),
      },
      history,
      // A ledger checks that it runs under its task's ledger id: replayed under it (the fixture keeps no ids).
      name === 'usage-ledger' ? usageLedgerId('replay', 'billing.refund_charge') : undefined,
    );
  },
);
