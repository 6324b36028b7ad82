import { actionDetails, markdownText, proposalSummary } from '../workflows/action-details';
import type { ActionState } from '../common/types';

// What Temporal's Web UI shows of an action is markdown: nothing an agent, an approver or a target wrote may become a
// link, an image, emphasis, a heading or a line of its own.

const HOSTILE =
  '[click](http://evil.example) ![x](http://evil.example/i.png) *W* # h\n- item <b>x</b> `c` www.evil.example a@b.c \u202e\u{e0041}';

/** The characters markdown acts on, where a value left them unescaped (not preceded by an odd run of backslashes). */
function active(markdown: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < markdown.length; i++) {
    if (!'[]()*<>!:`#_'.includes(markdown[i])) continue;
    let slashes = 0;
    for (let k = i - 1; k >= 0 && markdown[k] === '\\'; k--) slashes++;
    if (slashes % 2 === 0) found.push(markdown[i]);
  }
  if (/[\u202e\u{e0041}]/u.test(markdown)) found.push('invisible');
  return found;
}

test('markdownText leaves nothing active, and the text can still be read', () => {
  const md = markdownText(HOSTILE);
  expect(active(md)).toEqual([]);
  expect(md).not.toContain('\n');
  expect(md.replace(/\\(.)/g, '$1')).toContain('click');
  // Checks the checker: the raw text is active.
  expect(active(HOSTILE)).toEqual(expect.arrayContaining(['[', '(', '!', '*', '<', ':', '`', 'invisible']));
});

test('the summary line escapes the task, the user and the agent, and stays within 200 bytes', () => {
  const summary = proposalSummary({ task: `crm.x${HOSTILE}`, agent: `bot${HOSTILE}`, user: HOSTILE.repeat(5) });
  expect(active(summary)).toEqual([]);
  expect(new TextEncoder().encode(summary).length).toBeLessThanOrEqual(200);
});

test('the details escape the plan summary, the target and the requester', () => {
  const state = {
    id: 'act-1',
    task: 'crm.update_customer',
    status: 'awaiting_approval',
    agent: 'support-bot',
    user: HOSTILE,
    requester: HOSTILE,
    approvedBy: [],
    approvalsRequired: 1,
    transitions: [],
    plan: { target: HOSTILE, summary: HOSTILE, sideEffects: [HOSTILE], diff: [], hash: 'a'.repeat(64) },
  } as unknown as ActionState;
  const details = actionDetails(state);
  // Every value is in it only escaped: the escaped text is there, and no active piece of a value is.
  expect(details).toContain(markdownText(HOSTILE));
  for (const piece of ['[click](', '![x]', '*W*', '<b>', 'http://', '\u202e', '\u{e0041}'])
    expect(details).not.toContain(piece);
  expect(details).toContain('click');
  // Its own lines are the markdown's; no value adds one.
  expect(details.split('\n').length).toBeLessThan(10);
});
