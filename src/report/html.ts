// Renders a trace as one self-contained HTML page: swimlanes (one per thread, time running down), a
// panel with the full state after the selected step, keyboard stepping. No network, no argv; model
// strings travel only as escaped JSON and reach the DOM only through textContent.

import { createHash } from 'node:crypto';
import type { FieldValue, Trace } from '../trace/trace.ts';

export interface HtmlOptions {
  /** command line that replays the trace, shown in the header */
  readonly replay?: string;
}

/** What the page's script reads: the trace and every state as one table (fields x states). */
interface PageData {
  readonly trace: Trace;
  readonly replay: string | null;
  /** field paths in layout order */
  readonly fields: readonly string[];
  /** values[i][j]: field j in the initial state (i = 0) or after step i */
  readonly values: readonly (readonly string[])[];
}

/** JSON that is inert inside a <script> element: no `</script>`, no `<!--`, no line separators. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function pageData(trace: Trace, states: readonly FieldValue[][], replay: string | undefined): PageData {
  if (states.length !== trace.steps.length + 1) {
    throw new Error(`traceHtml: ${trace.steps.length} steps need ${trace.steps.length + 1} states (the initial one first), got ${states.length}`);
  }
  const fields: string[] = [];
  const index = new Map<string, number>();
  for (const st of states) {
    for (const f of st) {
      if (!index.has(f.path)) {
        index.set(f.path, fields.length);
        fields.push(f.path);
      }
    }
  }
  const values = states.map((st) => {
    const row = fields.map(() => '');
    for (const f of st) row[index.get(f.path)!] = f.value;
    return row;
  });
  return { trace, replay: replay ?? null, fields, values };
}

const CSS = `
:root {
  --bg: #ffffff; --fg: #1d1f21; --muted: #5f6368; --line: #d6d9de; --lane: #f6f7f9; --lane-alt: #eef1f5;
  --box: #ffffff; --sel: #1a56db; --sel-bg: #e8f0fe; --fault: #b3261e; --fault-bg: #fdecea;
  --changed-bg: #fff4c2; --ok: #1e7e34;
  --mono: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  --sans: system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16181c; --fg: #e3e5e8; --muted: #9aa0a6; --line: #3a3f47; --lane: #1d2026; --lane-alt: #22262d;
    --box: #262a31; --sel: #8ab4f8; --sel-bg: #233551; --fault: #f28b82; --fault-bg: #4a2523;
    --changed-bg: #4d4215; --ok: #81c995;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body {
  background: var(--bg); color: var(--fg); font: 14px/1.4 var(--sans);
  display: grid; grid-template-rows: auto 1fr; grid-template-columns: minmax(0, 1fr) minmax(20em, 34%);
  grid-template-areas: "head head" "lanes panel";
}
.mono, code { font-family: var(--mono); font-size: 13px; }
header { grid-area: head; padding: 10px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 17px; margin: 0 0 4px; font-weight: 600; }
header h1 .variant, header h1 .params { color: var(--muted); font-weight: 400; }
header p { margin: 2px 0; }
header .status { font-weight: 700; padding: 0 6px; border-radius: 3px; }
header .status.violated { color: var(--fault); background: var(--fault-bg); }
header .status.reachable { color: var(--ok); }
header .kind, header .k { color: var(--muted); }
header .verdict { font-weight: 600; }
header .help { color: var(--muted); font-size: 12px; }
#lanes { grid-area: lanes; overflow: auto; padding: 0 0 16px; }
#panel { grid-area: panel; overflow: auto; border-left: 1px solid var(--line); padding: 10px 14px 24px; }
.grid { display: grid; column-gap: 0; row-gap: 6px; padding: 0 12px 0 0; min-width: min-content; }
.lane-bg { background: var(--lane); border-left: 1px solid var(--line); z-index: 0; }
.lane-bg.alt { background: var(--lane-alt); }
.lane-head {
  position: sticky; top: 0; z-index: 3; background: var(--bg); border-bottom: 2px solid var(--line);
  font: 600 13px var(--mono); padding: 8px 10px 6px; white-space: pre-wrap; overflow-wrap: anywhere;
}
.lane-head.active { color: var(--sel); border-bottom-color: var(--sel); }
.corner { position: sticky; top: 0; left: 0; z-index: 4; background: var(--bg); border-bottom: 2px solid var(--line); }
.num { position: sticky; left: 0; z-index: 2; background: var(--bg); text-align: right; padding: 6px 8px 0 0; color: var(--muted); font: 12px var(--mono); }
.step, .init {
  position: relative; z-index: 1; margin: 0 8px; padding: 5px 8px; background: var(--box);
  border: 1px solid var(--line); border-radius: 4px; cursor: pointer; min-width: 0;
  font: 13px/1.35 var(--mono); white-space: pre-wrap; overflow-wrap: anywhere;
}
.init { color: var(--muted); font-style: italic; margin-top: 6px; }
.step:hover, .init:hover { border-color: var(--sel); }
.step:focus-visible, .init:focus-visible { outline: 2px solid var(--sel); outline-offset: 1px; }
.selected { border-color: var(--sel); background: var(--sel-bg); box-shadow: 0 0 0 1px var(--sel); }
.step .label { font-weight: 600; }
.step .mark { color: var(--fault); font-weight: 700; white-space: nowrap; }
.step.reached .mark { color: var(--ok); }
.step .change { padding-left: 1.5ch; text-indent: -1ch; }
.fault { color: var(--fault); background: var(--fault-bg); font-weight: 600; border-radius: 2px; padding: 0 3px; margin-top: 2px; }
.step.has-fault { border-color: var(--fault); }
.step.violation { border-width: 2px; border-color: var(--fault); }
.step.violation.reached { border-color: var(--ok); }
.stuck { z-index: 1; margin: 0 8px; padding: 4px 8px; color: var(--fault); font: italic 13px var(--mono); white-space: pre-wrap; }
.verdict-row { z-index: 1; padding: 6px 8px; font: 600 13px var(--mono); }
#panel h2 { font-size: 15px; margin: 4px 0 8px; font-weight: 600; }
#panel h3 { font-size: 13px; margin: 14px 0 4px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
#panel ul { margin: 0; padding-left: 1.2em; }
#panel li { font: 13px var(--mono); overflow-wrap: anywhere; }
#panel .none { color: var(--muted); font-style: italic; }
table.state { border-collapse: collapse; width: 100%; font: 13px var(--mono); }
table.state td { padding: 1px 6px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
table.state td.path { width: 40%; }
table.state tr.group td { border-top: 2px solid var(--line); }
table.state tr.changed td { background: var(--changed-bg); font-weight: 600; }
table.state td.was { color: var(--muted); font-weight: 400; white-space: nowrap; }
`;

// The page's script: reads the JSON block, builds every element with createElement/textContent.
const JS = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ptcheck-data').textContent);
  var t = data.trace;
  var n = t.steps.length;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function paramText(p) {
    var e = Object.keys(p);
    return e.length ? ' (' + e.map(function (k) { return k + '=' + p[k]; }).join(', ') + ')' : '';
  }
  /** a change's path in the full state: the acting thread's own locals are recorded without its name */
  function fullPath(step, c) {
    return c.thread !== undefined && c.thread === step.thread ? c.thread + '.' + c.path : c.path;
  }
  function verdictText() {
    var k = t.property.kind;
    if (k === 'deadlock') {
      return '=> deadlock: nothing can run, and ' + t.blocked.map(function (b) { return b.thread + ' is stuck at ' + b.at; }).join(', ');
    }
    if (k === 'final') return '=> the final state violates ' + t.property.name;
    if (t.status === 'violated') {
      var last = t.steps[n - 1];
      return last ? '=> ' + t.property.name + ' violated by step ' + n + ': ' + last.thread + ' ' + last.label
                  : '=> ' + t.property.name + ' violated in the initial state';
    }
    return '=> ' + t.property.name + ' reached after ' + n + ' steps';
  }

  document.title = t.model + ' [' + t.variant + '] ' + t.property.name + ' - ptcheck trace';

  // ---- header
  var head = document.getElementById('head');
  var h1 = add(head, el('h1'));
  add(h1, el('span', 'model', t.model));
  add(h1, el('span', 'variant', ' [' + t.variant + ']'));
  add(h1, el('span', 'params', paramText(t.params)));
  var p1 = add(head, el('p'));
  add(p1, el('code', 'prop', t.property.name));
  add(p1, document.createTextNode(' '));
  add(p1, el('span', 'status ' + t.status, t.status === 'violated' ? 'VIOLATED' : 'reached'));
  add(p1, document.createTextNode(' '));
  add(p1, el('span', 'kind', '(' + t.property.kind + ')'));
  add(head, el('p', 'doc', t.property.doc));
  add(head, el('p', 'verdict mono', verdictText()));
  var p2 = add(head, el('p', 'mono'));
  add(p2, el('span', 'k', 'path '));
  add(p2, el('span', 'path', t.path || '-'));
  if (data.replay) {
    var p3 = add(head, el('p', 'mono'));
    add(p3, el('span', 'k', 'replay '));
    add(p3, el('span', 'replay', data.replay));
  }
  add(head, el('p', 'help', 'click a step, or use \\u2193/j and \\u2191/k to step, Home/End for the first/last step'));

  // ---- swimlanes: the threads that act (or are left stuck), in thread order
  var acting = {};
  t.steps.forEach(function (s) { acting[s.tid] = true; });
  t.blocked.forEach(function (b) { var i = t.threads.indexOf(b.thread); if (i >= 0) acting[i] = true; });
  var cols = Object.keys(acting).map(Number).sort(function (a, b) { return a - b; });
  var colOf = {};
  cols.forEach(function (tid, i) { colOf[tid] = i + 2; });
  var lanes = document.getElementById('lanes');
  var grid = add(lanes, el('div', 'grid'));
  grid.style.gridTemplateColumns = '3.5em repeat(' + Math.max(cols.length, 1) + ', minmax(13em, 1fr))';
  var lastRow = n + 3 + (t.blocked.length ? 1 : 0);
  var corner = add(grid, el('div', 'corner'));
  corner.style.gridColumn = '1'; corner.style.gridRow = '1';
  var heads = {};
  cols.forEach(function (tid, i) {
    var bg = add(grid, el('div', 'lane-bg' + (i % 2 ? ' alt' : '')));
    bg.style.gridColumn = String(i + 2);
    bg.style.gridRow = '1 / ' + (lastRow + 1);
    var h = add(grid, el('div', 'lane-head', t.threads[tid] !== undefined ? t.threads[tid] : 'thread' + tid));
    h.style.gridColumn = String(i + 2); h.style.gridRow = '1';
    h.dataset.tid = String(tid);
    heads[tid] = h;
  });

  var boxes = [];
  var init = add(grid, el('div', 'init', 'initial state'));
  init.style.gridColumn = '2 / ' + (cols.length + 2); init.style.gridRow = '2';
  init.tabIndex = 0;
  init.setAttribute('role', 'button');
  init.dataset.step = '0';
  boxes.push(init);

  var kind = t.property.kind;
  var markText = kind === 'always' ? (t.status === 'violated' ? '  <== violation' : '  <== reached')
    : kind === 'sometimes' ? '  <== reached' : kind === 'deadlock' ? '  <== deadlock' : '  <== final state';
  t.steps.forEach(function (s, i) {
    var row = String(i + 3);
    var num = add(grid, el('div', 'num', i + 1));
    num.style.gridColumn = '1'; num.style.gridRow = row;
    var box = add(grid, el('div', 'step'));
    box.style.gridColumn = String(colOf[s.tid]); box.style.gridRow = row;
    box.tabIndex = 0;
    box.setAttribute('role', 'button');
    box.dataset.step = String(i + 1);
    box.dataset.thread = s.thread;
    var lab = add(box, el('div', 'label'));
    add(lab, el('span', 'name', s.label));
    if (i === n - 1) {
      box.classList.add('violation');
      if (t.status !== 'violated') box.classList.add('reached');
      add(lab, el('span', 'mark', markText));
    }
    s.changes.forEach(function (c) { add(box, el('div', 'change', c.path + ': ' + c.from + ' -> ' + c.to)); });
    s.faults.forEach(function (f) { add(box, el('div', 'fault', '!! ' + f)); });
    if (s.faults.length) box.classList.add('has-fault');
    boxes.push(box);
  });
  t.blocked.forEach(function (b) {
    var tid = t.threads.indexOf(b.thread);
    if (!(tid in colOf)) return;
    var d = add(grid, el('div', 'stuck', '(stuck at ' + b.at + ')'));
    d.style.gridColumn = String(colOf[tid]); d.style.gridRow = String(n + 3);
  });

  // ---- details panel: the state table is built once, its cells updated on selection
  var panel = document.getElementById('panel');
  var title = add(panel, el('h2', 'title'));
  add(panel, el('h3', null, 'changes'));
  var changeList = add(panel, el('ul', 'changes'));
  var stateHead = add(panel, el('h3', 'state-head'));
  var table = add(panel, el('table', 'state'));
  var tbody = add(table, el('tbody'));
  var rows = data.fields.map(function (path, j) {
    var tr = add(tbody, el('tr'));
    tr.dataset.path = path;
    var top = path.split(/[.\\[]/)[0];
    var prev = j > 0 ? data.fields[j - 1].split(/[.\\[]/)[0] : top;
    if (j > 0 && top !== prev) tr.className = 'group';
    add(tr, el('td', 'path', path));
    var v = add(tr, el('td', 'value'));
    var was = add(tr, el('td', 'was'));
    return { tr: tr, value: v, was: was, group: tr.className };
  });

  var sel = -1;
  function select(i, scroll) {
    i = Math.max(0, Math.min(n, i));
    if (sel >= 0) boxes[sel].classList.remove('selected');
    if (sel > 0 && heads[t.steps[sel - 1].tid]) heads[t.steps[sel - 1].tid].classList.remove('active');
    sel = i;
    var box = boxes[i];
    box.classList.add('selected');
    box.setAttribute('aria-current', 'step');
    boxes.forEach(function (b, k) { if (k !== i) b.removeAttribute('aria-current'); });
    var step = i > 0 ? t.steps[i - 1] : null;
    if (step && heads[step.tid]) heads[step.tid].classList.add('active');

    title.textContent = step ? 'step ' + i + ' of ' + n + ': ' + step.thread + ' ' + step.label : 'initial state';
    changeList.textContent = '';
    if (!step) add(changeList, el('li', 'none', 'before any step'));
    else {
      step.changes.forEach(function (c) { add(changeList, el('li', 'change', fullPath(step, c) + ': ' + c.from + ' -> ' + c.to)); });
      step.faults.forEach(function (f) { add(changeList, el('li', 'fault', '!! ' + f)); });
      if (!step.changes.length && !step.faults.length) add(changeList, el('li', 'none', 'no state change besides the thread\\'s pc'));
    }
    stateHead.textContent = step ? 'state after step ' + i : 'initial state';
    var cur = data.values[i], before = i > 0 ? data.values[i - 1] : null;
    rows.forEach(function (r, j) {
      var changed = before !== null && before[j] !== cur[j];
      r.value.textContent = cur[j];
      r.was.textContent = changed ? 'was ' + before[j] : '';
      r.tr.className = (r.group ? r.group + ' ' : '') + (changed ? 'changed' : '');
    });
    if (scroll) {
      box.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      box.focus({ preventScroll: true });
    }
  }

  grid.addEventListener('click', function (e) {
    var target = e.target instanceof Element ? e.target.closest('[data-step]') : null;
    if (target) select(Number(target.dataset.step), false);
  });
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var next = null;
    switch (e.key) {
      case 'ArrowDown': case 'j': next = sel + 1; break;
      case 'ArrowUp': case 'k': next = sel - 1; break;
      case 'Home': next = n > 0 ? 1 : 0; break;
      case 'End': next = n; break;
      case 'Enter': case ' ':
        var f = document.activeElement;
        if (f && f.dataset && f.dataset.step !== undefined) next = Number(f.dataset.step);
        break;
    }
    if (next === null) return;
    e.preventDefault();
    select(next, true);
  });

  select(0, false);
})();
`;

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The trace as one HTML document. `states[0]` is the initial state and `states[i]` the state after
 * step i (what `snapshots()` returns). Everything is inline; the Content-Security-Policy allows only
 * this page's own style and script, so the page can fetch nothing.
 */
export function traceHtml(trace: Trace, states: readonly FieldValue[][], opts: HtmlOptions = {}): string {
  const data = scriptJson(pageData(trace, states, opts.replay));
  const csp = `default-src 'none'; style-src ${cspHash(CSS)}; script-src ${cspHash(JS)}; img-src data:; base-uri 'none'; form-action 'none'`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="ptcheck">',
    '<title>ptcheck trace</title>',
    '<link rel="icon" href="data:,">',
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header id="head"></header>',
    '<main id="lanes" aria-label="threads, time running down"></main>',
    '<aside id="panel"></aside>',
    `<script type="application/json" id="ptcheck-data">${data}</script>`,
    `<script>${JS}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
