/** The process stack never runs a worker built from other sources than the checkout's (stack/built-worker.ts). */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtWorkerEntry } from '../stack/built-worker';

function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'airlock-built-'));
  for (const dir of ['dist/workers', 'workflows/nested', 'inbox/assets'])
    mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'workflows', 'nested', 'stage.ts'), 'export {};');
  writeFileSync(join(root, 'inbox', 'assets', 'inbox.css'), '');
  writeFileSync(join(root, 'dist', 'workers', 'main.js'), '');
  writeFileSync(join(root, 'dist', 'build-info.json'), '{}');
  writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ include: ['workflows', 'inbox'] }));
  const past = new Date(Date.now() - 60_000);
  for (const f of ['workflows/nested/stage.ts', 'inbox/assets/inbox.css']) utimesSync(join(root, f), past, past);
  return root;
}

test('a build newer than every source is run', () => {
  const root = checkout();
  expect(builtWorkerEntry(root)).toBe(join(root, 'dist', 'workers', 'main.js'));
});

test.each(['workflows/nested/stage.ts', 'inbox/assets/inbox.css'])(
  'a source changed after the build (%s) is named, and the build refused',
  (file) => {
    const root = checkout();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, file), later, later);
    expect(() => builtWorkerEntry(root)).toThrow(`older than ${file}: run \`npm run build\``);
  },
);

test('no build: says how to make one', () => {
  const root = mkdtempSync(join(tmpdir(), 'airlock-unbuilt-'));
  expect(() => builtWorkerEntry(root)).toThrow('The worker is not built: run `npm run build`');
});
