import { formatDiff, useColor } from '../client/cli/format';

const diff = [
  { path: 'tier', op: 'change' as const, before: 'silver', after: 'gold' },
  { path: 'nickname', op: 'add' as const, after: 'Amazing Grace' },
  { path: 'fax', op: 'remove' as const, before: '+1 555' },
];

test('the diff is red for what goes and green for what comes, on a terminal', () => {
  expect(formatDiff(diff, true)).toEqual([
    '  ~ tier',
    '\u001b[31m      - "silver"\u001b[0m',
    '\u001b[32m      + "gold"\u001b[0m',
    '\u001b[32m  + nickname: "Amazing Grace"\u001b[0m',
    '\u001b[31m  - fax: "+1 555"\u001b[0m',
  ]);
  expect(formatDiff(diff, false)).toEqual([
    '  ~ tier',
    '      - "silver"',
    '      + "gold"',
    '  + nickname: "Amazing Grace"',
    '  - fax: "+1 555"',
  ]);
});

test('colour only on a terminal, and never with NO_COLOR', () => {
  const saved = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    expect(useColor({ isTTY: true } as NodeJS.WriteStream)).toBe(true);
    expect(useColor({ isTTY: false } as NodeJS.WriteStream)).toBe(false);
    process.env.NO_COLOR = '1';
    expect(useColor({ isTTY: true } as NodeJS.WriteStream)).toBe(false);
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});
