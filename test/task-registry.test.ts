import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../stack/dev-config';
import { z } from 'zod';
import { defineTask } from '../tasks/define-task';
import { createDefaultRegistry, TaskRegistry } from '../tasks';
import { addNoteToCustomer } from '../tasks/crm/add-note-to-customer';
import { SetParameterSchema } from '../tasks/ops/set-parameter';

const minimal = (name: string) =>
  defineTask({
    name,
    description: 'test task',
    risk: 'low',
    inputSchema: z.strictObject({ x: z.string() }),
    examples: [{ x: 'a' }],
    target: (i) => `test:${i.x}`,
    credentials: { role: { name: 'r', description: 'test role', grants: () => [] }, plan: {}, execute: {} },
    plan: async () => ({ summary: '', sideEffects: [], before: null, after: null }),
    execute: async () => null,
  });

test('registering a task name twice throws', () => {
  const registry = new TaskRegistry([addNoteToCustomer]);
  expect(() => registry.register(addNoteToCustomer)).toThrow('Task "crm.add_note_to_customer" is already registered');
  expect(() => new TaskRegistry([minimal('a.b'), minimal('a.b')])).toThrow(/already registered/);
});

test('an unknown task name says which tasks exist', () => {
  const registry = createDefaultRegistry();
  expect(registry.names()).toEqual(expect.arrayContaining(['billing.refund_charge', 'crm.add_note_to_customer']));
  expect(() => registry.get('crm.nope')).toThrow(
    `Unknown task "crm.nope". Registered tasks: ${registry.names().join(', ')}.`,
  );
});

test('malformed task definitions are refused at load', () => {
  expect(() => minimal('NoDots')).toThrow(/not of the form area.verb_object/);
  expect(() => defineTask({ ...minimal('a.b'), risk: 'medium' as never })).toThrow(/risk "medium"/);
  expect(() => defineTask({ ...minimal('a.b'), description: ' ' })).toThrow(/needs a description/);
});

test('a task’s policy facts are checked at load: names, Cedar types, and the facts of every example', () => {
  const described = (facts: { types: object; of: unknown }) => ({
    descriptions: Object.fromEntries(Object.keys(facts.types).map((k) => [k, `what ${k} is`])),
    ...facts,
  });
  const withFacts = (facts: { types: object; of: unknown }) => () =>
    defineTask({ ...minimal('a.b'), facts: described(facts) } as never);
  expect(withFacts({ types: { x: 'String' }, of: (i: { x: string }) => ({ x: i.x }) })).not.toThrow();
  expect(withFacts({ types: { 'bad-name': 'String' }, of: () => ({}) })).toThrow(/lowerCamelCase/);
  expect(withFacts({ types: { amount: 'Float' }, of: () => ({}) })).toThrow(/one of Long, String, Bool/);
  // Money is a Long in minor units: a float is refused, as is a fact missing or undeclared.
  expect(withFacts({ types: { amount: 'Long' }, of: () => ({ amount: 12.5 }) })).toThrow(/"amount" must be a Long/);
  expect(withFacts({ types: { amount: 'Long' }, of: () => ({}) })).toThrow(/"amount" must be a Long, and is missing/);
  expect(withFacts({ types: {}, of: () => ({ extra: true }) })).toThrow(/"extra" is not a declared fact/);
  // Each fact is described in a line: the README's table of facts is generated from the descriptions.
  expect(() =>
    defineTask({
      ...minimal('a.b'),
      facts: { types: { x: 'String' }, of: () => ({ x: '' }), descriptions: {} },
    } as never),
  ).toThrow(/describe each fact in a line/);
});

test('plan facts and usage counting are checked at load: names, types, and a Long fact to sum over a window', () => {
  const task = (extra: object) => () => defineTask({ ...minimal('a.b'), ...extra } as never);
  const planFacts = {
    types: { amount: 'Long', currency: 'String' },
    of: () => ({}),
    descriptions: { amount: 'a', currency: 'c' },
  };
  expect(task({ planFacts, usage: { sum: 'amount', window: '24h' } })).not.toThrow();
  expect(task({ planFacts: { ...planFacts, types: { Amount: 'Long' } } })).toThrow(/lowerCamelCase/);
  expect(task({ planFacts, usage: { sum: 'currency', window: '24h' } })).toThrow(/sums "currency", which is a String/);
  expect(task({ planFacts, usage: { sum: 'nothing', window: '24h' } })).toThrow(/not a fact of the task/);
  expect(task({ planFacts, usage: { sum: 'amount', window: 'a day' } })).toThrow(/"a day" is not a duration/);
});

test('each task publishes its input as JSON Schema generated from zod', () => {
  const [, note, update] = createDefaultRegistry().summaries(); // sorted by name
  expect(note).toMatchObject({ name: 'crm.add_note_to_customer', risk: 'low' });
  expect(note.inputSchema).toMatchObject({
    type: 'object',
    required: ['customerId', 'note'],
    additionalProperties: false,
  });
  expect(update).toMatchObject({ name: 'crm.update_customer', risk: 'high' });
  expect(
    (update.inputSchema as { properties: { changes: { properties: object } } }).properties.changes.properties,
  ).toHaveProperty('tier');
});

test('a parameter name cannot climb out of /app/: no "..", "." or empty segments', () => {
  const name = (n: string) => SetParameterSchema.safeParse({ name: n, value: 'on' }).success;
  expect(name('/app/flags/new-checkout')).toBe(true);
  for (const bad of ['/app/../secrets/db', '/app/flags/..', '/app/./x', '/app//x', '/app/x/', '/secrets/x', '/app/'])
    expect([bad, name(bad)]).toEqual([bad, false]);
});

test('agents load the catalog and the client without any target SDK', () => {
  const script = [
    "require('tsx/cjs/api').register();",
    "const { defaultCatalog } = require('./tasks');",
    "require('./client/airlock-client'); require('./client/tool-definitions'); require('./client/agent-view');",
    'const names = defaultCatalog().map((t) => t.name);',
    "const sdks = Object.keys(require.cache).filter((f) => /node_modules\\/(stripe|@aws-sdk)\\//.test(f)).map((f) => f.split('node_modules/').pop().split('/').slice(0, 2).join('/'));",
    'console.log(JSON.stringify({ names, sdks: [...new Set(sdks)] }));',
  ].join('\n');
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8' }));
  expect(out.names).toEqual(createDefaultRegistry().names());
  expect(out.sdks).toEqual([]);
});
