import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InviteBook } from '../inbox/invite-book';

const book = (clock = () => Date.now()) => {
  const file = join(mkdtempSync(join(tmpdir(), 'airlock-invites-')), 'invites.json');
  return { file, invites: new InviteBook(file, clock) };
};

test('a link enrols once: checked, used, then refused as used', () => {
  const { invites } = book();
  const { token } = invites.create('Bob', 60_000);
  expect(invites.check(token)).toBe('bob');
  expect(invites.consume(token)).toBe('bob');
  expect(() => invites.consume(token)).toThrow(/used already/);
  expect(() => invites.check(token)).toThrow(/used already/);
});

test('the file holds only the hash of a link, and no lock is left behind', () => {
  const { file, invites } = book();
  const { token } = invites.create('bob', 60_000);
  expect(readFileSync(file, 'utf8')).not.toContain(token);
  expect(existsSync(`${file}.lock`)).toBe(false);
});

test('a new invite voids the older unused one; an expired or unknown link is refused', () => {
  let now = 1_000_000;
  const { invites } = book(() => now);
  const old = invites.create('bob', 60_000).token;
  const fresh = invites.create('bob', 60_000).token;
  expect(() => invites.check(old)).toThrow(/not valid/);
  expect(invites.check(fresh)).toBe('bob');
  now += 60_001;
  expect(() => invites.check(fresh)).toThrow(/expired/);
  expect(() => invites.check('x'.repeat(43))).toThrow(/not valid/);
  expect(() => invites.check({ token: fresh })).toThrow(/not valid/);
});
