// The local stack's trace page: the recent action traces (/) and one trace as a waterfall (/trace/<id>), from
// Jaeger's query API. Every value is shown through textContent: a span name or tag can never become markup.
'use strict';

const COLORS = {
  'airlock-client': '#5b8def',
  'airlock-inbox': '#5b8def',
  'airlock-worker': '#2e9d6a',
};
const OTHER_COLORS = ['#b06fd8', '#e09a3e', '#3fa7b5', '#d2607a'];
/** Tags worth a glance on a row: identifiers only, which is all Airlock's spans carry. */
const SHOWN_TAGS = /^(airlock\.|http\.request\.method$|http\.response\.status_code$)/;

const main = document.getElementById('main');

/** An element with text and children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'style') Object.assign(node.style, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

async function api(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} for ${path}`);
  return res.json();
}

const ms = (micros) => (micros >= 1000 ? `${(micros / 1000).toFixed(micros >= 100000 ? 0 : 1)} ms` : `${micros} µs`);
const tagOf = (span, key) => span.tags.find((t) => t.key === key)?.value;

/** A trace's spans in tree order (children by start time), each with its depth. */
function ordered(trace) {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const parentOf = (s) => s.references.find((r) => r.refType === 'CHILD_OF' && ids.has(r.spanID))?.spanID;
  const children = new Map();
  for (const span of trace.spans) {
    const parent = parentOf(span) ?? '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  const out = [];
  const walk = (parent, depth) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.startTime - b.startTime)) {
      out.push({ span, depth });
      walk(span.spanID, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

function colorOf(service, services) {
  return COLORS[service] ?? OTHER_COLORS[services.indexOf(service) % OTHER_COLORS.length];
}

async function showTrace(id) {
  const { data } = await api(`/api/traces/${encodeURIComponent(id)}`);
  const trace = data?.[0];
  if (!trace) return show(el('p', { text: `No trace ${id} in Jaeger (it keeps traces in memory until it stops).` }));
  const start = Math.min(...trace.spans.map((s) => s.startTime));
  const end = Math.max(...trace.spans.map((s) => s.startTime + s.duration));
  const total = Math.max(end - start, 1);
  const serviceOf = (span) => trace.processes[span.processID]?.serviceName ?? '?';
  const services = [...new Set(trace.spans.map(serviceOf))];
  const run = trace.spans.find((s) => s.operationName === 'RunWorkflow:actionWorkflow');
  const anyTag = (key) => trace.spans.map((s) => tagOf(s, key)).find((v) => v !== undefined);
  const rows = ordered(trace).map(({ span, depth }) => {
    const tags = span.tags
      .filter((t) => SHOWN_TAGS.test(t.key) && t.key !== 'airlock.action_id')
      .map((t) => `${t.key.replace(/^airlock\./, '')}=${Array.isArray(t.value) ? t.value.join(',') : t.value}`)
      .join('  ');
    const left = ((span.startTime - start) / total) * 100;
    const width = (span.duration / total) * 100;
    const error = tagOf(span, 'otel.status_code') === 'ERROR' || tagOf(span, 'error') === true;
    return el(
      'div',
      { class: 'row' },
      el(
        'div',
        { class: 'label', style: { paddingLeft: `${8 + depth * 14}px` } },
        el('span', { class: 'name', text: span.operationName }),
        el('span', { class: 'service', text: serviceOf(span) }),
        tags ? el('span', { class: 'tags', text: tags }) : null,
      ),
      el(
        'div',
        { class: 'track' },
        el('div', {
          class: `bar${error ? ' error' : ''}`,
          style: { left: `${left}%`, width: `${width}%`, background: colorOf(serviceOf(span), services) },
        }),
        el('span', {
          class: 'duration',
          text: ms(span.duration),
          style: left + width > 85 ? { right: `${100 - left + 0.5}%` } : { left: `calc(${left + width}% + 6px)` },
        }),
      ),
    );
  });
  show(
    el('h1', { text: `Action ${anyTag('airlock.action_id') ?? '?'}` }),
    el('p', {
      class: 'summary muted',
      text: `${anyTag('airlock.task') ?? ''} · ${run ? tagOf(run, 'airlock.status') : 'still running'} · ${ms(total)} from proposal to end · ${trace.spans.length} spans · trace ${trace.traceID}`,
    }),
    el(
      'p',
      { class: 'legend' },
      ...services.map((s) => el('span', {}, el('i', { style: { background: colorOf(s, services) } }), s)),
    ),
    el('div', { class: 'waterfall' }, ...rows),
  );
}

async function showList() {
  const { data } = await api(
    '/api/traces?service=airlock-worker&operation=RunActivity%3AadmitAndExecute&limit=50&lookback=24h',
  );
  const traces = (data ?? []).sort(
    (a, b) => Math.min(...b.spans.map((s) => s.startTime)) - Math.min(...a.spans.map((s) => s.startTime)),
  );
  if (!traces.length) return show(el('p', { text: 'No traced action yet: propose one with tracing on.' }));
  const rows = traces.map((trace) => {
    const anyTag = (key) => trace.spans.map((s) => tagOf(s, key)).find((v) => v !== undefined);
    const run = trace.spans.find((s) => s.operationName === 'RunWorkflow:actionWorkflow');
    const started = new Date(Math.min(...trace.spans.map((s) => s.startTime)) / 1000);
    return el(
      'tr',
      {},
      el(
        'td',
        {},
        el('a', {
          href: `/trace/${encodeURIComponent(trace.traceID)}`,
          text: anyTag('airlock.action_id') ?? trace.traceID,
        }),
      ),
      el('td', { text: anyTag('airlock.task') ?? '' }),
      el('td', { text: run ? tagOf(run, 'airlock.status') : 'running' }),
      el('td', { text: started.toLocaleString() }),
      el('td', { text: String(trace.spans.length) }),
    );
  });
  show(
    el('h1', { text: 'Recent actions' }),
    el(
      'table',
      {},
      el('tr', {}, ...['action', 'task', 'status', 'proposed', 'spans'].map((h) => el('th', { text: h }))),
      ...rows,
    ),
  );
}

const match = /^\/trace\/([0-9a-f]+)$/i.exec(location.pathname);
(match ? showTrace(match[1]) : showList()).catch((err) => show(el('p', { text: String(err.message || err) })));
