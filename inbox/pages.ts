/**
 * The inbox's pages, rendered on the server. Every value that came from an agent, an approver or a target goes
 * through {@link html}, which escapes it; no page has inline script or style (the Content-Security-Policy forbids
 * both), so even a string that escaped escaping could not run.
 */
import type { ActionState, DiffEntry, Plan } from '../common/types';
import type { ActionSummary } from '../client/action-list';
import type { ActionMemo } from '../common/action-memo';
import type { AuditEvent } from '../audit/audit-trail';
import { policyInWords } from '../common/policy-words';
import { DECIDING_STATUSES, RISK_LEVELS } from '../common/statuses';
import { relative } from '../client/cli/format';
import { html, type Html } from './html';

/** What every page knows of who is looking. */
export interface Viewer {
  approver: string;
  csrf: string;
}

/** The frame of every page: one stylesheet, the WebAuthn library and the inbox script, all served locally. */
export function layout(title: string, body: Html, viewer?: Viewer): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${viewer ? html`<meta name="csrf-token" content="${viewer.csrf}" />` : ''}
        <title>${title} · Airlock</title>
        <link rel="stylesheet" href="/assets/inbox.css" />
        <script src="/assets/webauthn.js" defer></script>
        <script src="/assets/inbox.js" defer></script>
      </head>
      <body>
        <header>
          <a class="brand" href="/">Airlock</a>
          ${
            viewer
              ? html`<nav>
                  <span class="who">Signed in as <strong>${viewer.approver}</strong></span>
                  <button type="button" data-action="logout">Sign out</button>
                </nav>`
              : ''
          }
        </header>
        <main>${body}</main>
        <p id="message" role="status" aria-live="polite"></p>
      </body>
    </html> `.text;
}

/** Sign-in: one button, a passkey assertion. */
export function loginPage(): string {
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
      <p>Approvers sign in with the passkey they enrolled. No passkey yet? Ask an admin for an enrolment link.</p>
      <button type="button" class="primary" data-action="login">Sign in with a passkey</button>`,
  );
}

/** Enrolment from a one-time link: the token stays in the fragment, out of logs and referrers. */
export function enrolPage(): string {
  return layout(
    'Enrol a passkey',
    html`<h1>Enrol a passkey</h1>
      <p>This one-time link registers a passkey on this device for approving actions in Airlock.</p>
      <button type="button" class="primary" data-action="enrol">Create a passkey</button>`,
  );
}

/** One row of the inbox: what visibility knows, and the action's memo (or, for older runs, what its worker said). */
export interface InboxRow {
  summary: ActionSummary;
  memo?: ActionMemo;
}

/** The inbox: actions awaiting decisions, with filters and pages. */
export function inboxPage(
  viewer: Viewer,
  rows: readonly InboxRow[],
  o: { tasks: readonly string[]; task?: string; risk?: string; total: number; next?: string; now: number },
): string {
  const query = (extra: Record<string, string | undefined>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ task: o.task, risk: o.risk, ...extra })) if (v) params.set(k, v);
    return `/?${params.toString()}`;
  };
  const body = html`<h1>Awaiting your decision</h1>
    <form class="filters" method="get" action="/">
      <label
        >Task
        <select name="task">
          <option value="">any</option>
          ${o.tasks.map((t) => html`<option value="${t}" ${t === o.task ? html`selected` : ''}>${t}</option>`)}
        </select></label
      >
      <label
        >Risk
        <select name="risk">
          <option value="">any</option>
          ${RISK_LEVELS.map((r) => html`<option value="${r}" ${r === o.risk ? html`selected` : ''}>${r}</option>`)}
        </select></label
      >
      <button type="submit">Filter</button>
    </form>
    <form class="batch" method="get" action="/batch">
      <table class="inbox">
        <thead>
          <tr>
            <th></th>
            <th>Task</th>
            <th>Requested by</th>
            <th>Risk</th>
            <th>Summary</th>
            <th>Approvals</th>
            <th>Time left</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length
              ? rows.map(({ summary: a, memo: s }) => {
                  const approvals = s ? `${s.approvals}/${s.approvalsRequired}` : '?';
                  const left = s?.expiresAt ? relative(s.expiresAt, o.now) : '';
                  return html`<tr data-id="${a.id}">
                    <td>
                      <input
                        type="checkbox"
                        name="id"
                        value="${a.id}"
                        data-task="${a.task}"
                        aria-label="select ${a.id}"
                      />
                    </td>
                    <td><a href="/actions/${a.id}">${a.task}</a></td>
                    <td>
                      ${a.requester}${a.agent && a.agent !== a.requester ? html` <span class="dim">via ${a.agent}</span>` : ''}
                    </td>
                    <td><span class="risk risk-${riskClass(a.risk)}">${a.risk ?? '?'}</span></td>
                    <td class="summary">
                      ${s?.summary ?? html`<span class="dim">(no answer from a worker yet)</span>`}
                    </td>
                    <td>${approvals}</td>
                    <td>${left}</td>
                  </tr>`;
                })
              : html`<tr>
                  <td colspan="7" class="dim">Nothing is waiting.</td>
                </tr>`
          }
        </tbody>
      </table>
      <p>
        <button type="submit" data-batch>Review selected together</button>
        <span class="dim">(actions of one task)</span>
      </p>
    </form>
    <p class="dim">${o.total} waiting, the longest-waiting first.</p>
    ${o.next ? html`<p><a class="next" href="${query({ after: o.next })}">Next page →</a></p>` : ''}`;
  return layout('Inbox', body, viewer);
}

const riskClass = (risk: string | undefined) =>
  (RISK_LEVELS as readonly string[]).includes(risk ?? '') ? (risk as string) : 'unknown';

/** A diff, field by field, coloured as in the CLI: removed in red, added in green. */
export function diffTable(diff: readonly DiffEntry[]): Html {
  if (!diff.length) return html`<p class="dim">(no change)</p>`;
  return html`<table class="diff">
    <thead>
      <tr>
        <th>Field</th>
        <th>Before</th>
        <th>After</th>
      </tr>
    </thead>
    <tbody>
      ${diff.map(
        (d) =>
          html`<tr class="op-${d.op}">
            <td class="path">${d.path}</td>
            <td class="before">${d.op === 'add' ? '' : JSON.stringify(d.before)}</td>
            <td class="after">${d.op === 'remove' ? '' : JSON.stringify(d.after)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** A plan as a person reviews it before signing. */
export function planSection(plan: Plan): Html {
  return html`<section class="plan">
    <h2>${plan.summary}</h2>
    <dl>
      <dt>Target</dt>
      <dd><code>${plan.target}</code></dd>
      <dt>Plan hash</dt>
      <dd><code class="hash">${plan.hash}</code></dd>
      <dt>Planned</dt>
      <dd>${plan.plannedAt}</dd>
    </dl>
    <h3>Side effects</h3>
    <ul>
      ${plan.sideEffects.map((e) => html`<li>${e}</li>`)}
    </ul>
    <h3>Changes</h3>
    ${diffTable(plan.diff)}
  </section>`;
}

/** The decision controls for one action, bound to the plan hash the person is looking at. */
function decisionForm(s: ActionState): Html {
  if (!DECIDING_STATUSES.includes(s.status) || !s.plan) return html``;
  return html`<section class="decide" data-action-id="${s.id}" data-plan-hash="${s.plan.hash}">
    <label>Reason <input type="text" name="reason" maxlength="1000" placeholder="required to reject" /></label>
    <button type="button" class="primary" data-action="approve">Approve with passkey</button>
    <button type="button" class="danger" data-action="reject">Reject with passkey</button>
    <p class="outcome" role="status"></p>
  </section>`;
}

/** An action: its plan, policy, approvals and history. */
export function actionPage(viewer: Viewer, s: ActionState, timeline: readonly AuditEvent[], now: number): string {
  const policy = s.policy ? policyInWords(s.policy) : [];
  const body = html`<p><a href="/">← Inbox</a></p>
    <h1>
      <code>${s.id}</code> <span class="task">${s.task}</span>
      <span class="status status-${s.status}">${s.status}</span>
    </h1>
    <p>
      Requested by <strong>${s.agent}</strong>${s.user ? html` for <strong>${s.user}</strong>` : ''}${
        s.reason ? html` — “${s.reason}”` : ''
      }.
      Risk <span class="risk risk-${riskClass(s.risk)}">${s.risk ?? '?'}</span>. Created ${s.createdAt}.
    </p>
    ${
      s.stalePlans.length
        ? html`<p class="warning">
            The target changed after an earlier plan was approved; this plan needs new approvals.
          </p>`
        : ''
    }
    ${s.plan ? planSection(s.plan) : html`<p class="dim">No plan yet (${s.status}).</p>`}
    <section class="policy">
      <h3>Policy</h3>
      ${
        policy.length
          ? html`<ul>
              ${policy.map((l) => html`<li>${l}</li>`)}
            </ul>`
          : html`<p class="dim">not decided yet</p>`
      }
    </section>
    <section class="approvals">
      <h3>
        Approvals
        ${s.approvedBy.length}/${s.approvalsRequired}${
          s.expiresAt && DECIDING_STATUSES.includes(s.status) ? html` · expires ${relative(s.expiresAt, now)}` : ''
        }
      </h3>
      <ul>
        ${s.approvals.map(
          (a) =>
            html`<li class="${a.accepted ? 'accepted' : 'refused'}">
              ${a.at} <strong>${a.approver}</strong> ${a.decision}${a.reason ? html` — “${a.reason}”` : ''}:
              ${a.accepted ? 'accepted' : html`refused (${a.refusal?.code}) ${a.refusal?.message}`}
            </li>`,
        )}
      </ul>
    </section>
    ${decisionForm(s)} ${s.error ? html`<p class="error">${s.error.type}: ${s.error.message}</p>` : ''}
    <section class="timeline">
      <h3>History</h3>
      <ol>
        ${timeline.map((e) => html`<li><time>${e.at}</time> <span class="kind">${e.kind}</span> ${e.summary}</li>`)}
      </ol>
    </section>`;
  return layout(s.id, body, viewer);
}

/** Several pending actions of one task, each plan on one page, decided together: one signature per action. */
export function batchPage(viewer: Viewer, states: readonly ActionState[]): string {
  const body = html`<p><a href="/">← Inbox</a></p>
    <h1>Review ${states.length} actions of <span class="task">${states[0]?.task ?? ''}</span></h1>
    <p>Each action is signed separately, over its own plan hash: your passkey is asked once per action.</p>
    <label>Reason <input type="text" id="batch-reason" maxlength="1000" placeholder="required to reject" /></label>
    <button type="button" class="primary" data-action="batch-approve">Approve all with passkey</button>
    <button type="button" class="danger" data-action="batch-reject">Reject all with passkey</button>
    ${states.map(
      (s) =>
        html`<article class="batch-item" data-action-id="${s.id}" data-plan-hash="${s.plan?.hash ?? ''}">
          <h2>
            <a href="/actions/${s.id}"><code>${s.id}</code></a> requested by ${s.requester}
          </h2>
          ${s.plan ? planSection(s.plan) : ''}
          <p class="outcome" role="status"></p>
        </article>`,
    )}`;
  return layout('Batch review', body, viewer);
}

/** An error page that says what was wrong and what to do. */
export function errorPage(title: string, message: string, viewer?: Viewer): string {
  return layout(
    title,
    html`<h1>${title}</h1>
      <p class="error">${message}</p>
      <p><a href="/">Back to the inbox</a></p>`,
    viewer,
  );
}
