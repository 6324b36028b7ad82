/**
 * `airlock completion bash|zsh`: the scripts complete commands, sub-commands, options, statuses and task names from
 * the program's own definition. bash is driven as it completes (COMP_WORDS, COMP_CWORD, the function, COMPREPLY);
 * zsh, when the machine has it, is checked for syntax and driven through its completion function with `compadd`
 * recorded; without zsh only the script's shape is checked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ACTION_STATUSES } from '../common/statuses';
import { defaultCatalog } from '../tasks';
import { completionScript } from '../client/cli/commands/completion-command';
import { runAirlock } from './support/cli';

const dir = mkdtempSync(join(tmpdir(), 'airlock-completion-'));
const env = { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: join(dir, 'cache') };
let bashScript = '';
let zshScript = '';

beforeAll(async () => {
  const [bash, zsh] = await Promise.all([
    runAirlock(['completion', 'bash'], { env }),
    runAirlock(['completion', 'zsh'], { env }),
  ]);
  expect(bash).toMatchObject({ code: 0, stderr: '' });
  expect(zsh).toMatchObject({ code: 0, stderr: '' });
  [bashScript, zshScript] = [bash.stdout, zsh.stdout];
  writeFileSync(join(dir, 'airlock.bash'), bashScript);
  writeFileSync(join(dir, '_airlock'), zshScript);
});

/** What bash offers for the words typed so far (the last one is the word under the cursor). */
function bashComplete(...words: string[]): string[] {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '--norc',
      '--noprofile',
      '-c',
      `source "$1"; COMP_WORDS=(airlock ${quoted}); COMP_CWORD=${words.length}; COMPREPLY=(); _airlock; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      join(dir, 'airlock.bash'),
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

const taskNames = defaultCatalog().map((t) => t.name);

test('bash: `airlock pe<TAB>` completes to pending, and every command is offered', () => {
  expect(bashComplete('pe')).toEqual(['pending']);
  expect(bashComplete('')).toEqual(
    expect.arrayContaining(['tasks', 'propose', 'list', 'pending', 'show', 'approve', 'reject', 'completion']),
  );
  expect(bashComplete('--json', 'pe')).toEqual(['pending']);
  expect(bashComplete('keys', '')).toEqual(['new', 'list']);
  expect(bashComplete('policy', 'ex')).toEqual(['explain']);
  expect(bashComplete('completion', '')).toEqual(['bash', 'zsh']);
});

test('bash: options of the command typed, their values, and task names', () => {
  expect(bashComplete('list', '--st')).toEqual(['--status']);
  expect(bashComplete('approve', 'act-1', '--')).toEqual(
    expect.arrayContaining(['--as', '--reason', '--plan', '--yes', '--json', '--help']),
  );
  expect(bashComplete('list', '--status', '')).toEqual([...ACTION_STATUSES]);
  expect(bashComplete('list', '--status', 'awaiting_')).toEqual(['awaiting_approval', 'awaiting_reapproval']);
  expect(bashComplete('propose', '')).toEqual(taskNames);
  expect(bashComplete('pending', '--limit', '5', '--task', 'crm.')).toEqual(
    taskNames.filter((t) => t.startsWith('crm.')),
  );
  // An option's value is not taken for a command: `--agent list` is an agent called "list".
  expect(bashComplete('pending', '--agent', 'list', '--')).toContain('--offset');
  // A value nothing completes offers nothing.
  expect(bashComplete('pending', '--limit', '')).toEqual([]);
});

test('bash: file names where a file goes', () => {
  writeFileSync(join(dir, 'approvers-extra.json'), '{}');
  expect(bashComplete('serve', '--approvers', 'approvers-')).toEqual(['approvers-extra.json']);
});

test('the bash script is valid bash; the zsh script has its compdef header and registration', () => {
  expect(spawnSync('bash', ['-n', join(dir, 'airlock.bash')]).status).toBe(0);
  expect(bashScript).toContain('complete -F _airlock airlock');
  expect(zshScript.startsWith('#compdef airlock\n')).toBe(true);
  expect(zshScript).toContain('compdef _airlock airlock');
  for (const word of ['pending', 'approvers invite', 'mcp token', ...taskNames, ...ACTION_STATUSES])
    expect(zshScript).toContain(word);
});

const hasZsh = spawnSync('zsh', ['--version']).status === 0;
(hasZsh ? test : test.skip)('zsh: valid syntax, and `airlock pe<TAB>` offers pending', () => {
  expect(spawnSync('zsh', ['-n', join(dir, '_airlock')]).status).toBe(0);
  // compadd recorded instead of shown; the script's function called as zsh's completion system would.
  const out = execFileSync(
    'zsh',
    [
      '-f',
      '-c',
      `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; source "$1"; words=(airlock pe); CURRENT=2; _airlock`,
      'zsh',
      join(dir, '_airlock'),
    ],
    { encoding: 'utf8' },
  );
  expect(out.split('\n')).toContain('pending');
});

test('a word that is not plain is never written into a script (the shell would run what it holds)', () => {
  const program = new Command().name('airlock');
  program.command('tasks').option('--task <task>', 'only this task');
  expect(completionScript(program, 'bash')).toContain("'tasks')");
  program.command('x$(touch owned)');
  expect(() => completionScript(program, 'bash')).toThrow('only plain words are written into a shell script');
  expect(() => completionScript(program, 'zsh')).toThrow('only plain words');
});

test('an unknown shell is refused with the ones there are', async () => {
  const r = await runAirlock(['completion', 'fish'], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('use `airlock completion bash` or `airlock completion zsh`');
});
