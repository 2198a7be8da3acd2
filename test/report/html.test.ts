// The HTML trace viewer in a real headless Chromium (playwright-core, the Chromium found on PATH):
// a real counterexample from the engine, rendered, clicked and stepped with the keyboard; no network
// request, no console error, and model strings that look like markup stay text.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, haveOrSkip } from '../helpers/test-deps.ts';
import { loadModel, shippedModelNames } from '../../src/cli/registry.ts';
import { Engine } from '../../src/explore/engine.ts';
import { verify } from '../../src/explore/verify.ts';
import { instantiate } from '../../src/model/compile.ts';
import { raceDiagram } from '../../src/report/race-diagram.ts';
import { scriptJson, traceHtml } from '../../src/report/html.ts';
import { buildTrace, snapshots, type FieldValue, type Trace } from '../../src/trace/trace.ts';

const CHROMIUM = findChromium();
const HAVE_CHROMIUM = haveOrSkip(CHROMIUM !== undefined, 'the HTML viewer tests in Chromium (test/report/html.test.ts)', 'chromium', 'apt-get install -y chromium (as root), or set PTCHECK_CHROMIUM=/path/to/chromium');
const EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">';

interface Case {
  readonly name: string;
  readonly trace: Trace;
  readonly states: FieldValue[][];
}

/** Every counterexample and witness of every shipped model, found by the real engine (BFS: shortest). */
async function engineTraces(): Promise<Case[]> {
  const out: Case[] = [];
  for (const name of shippedModelNames()) {
    const lm = await loadModel(name);
    for (const variant of Object.keys(lm.module.variants)) {
      const inst = instantiate(lm.module, variant, {});
      const r = verify(inst, lm.spec, { stopAtFirst: false, strategy: 'bfs' });
      const engine = new Engine(inst.compiled, lm.spec.properties);
      r.properties.forEach((p, k) => {
        if (!p.path) return;
        out.push({
          name: `${name} [${variant}] ${p.name}`,
          trace: buildTrace(inst, engine, p.path, k),
          states: snapshots(inst, engine, p.path),
        });
      });
    }
  }
  return out;
}

/** Threads with a lane, in thread order: those that step, and those left stuck. */
function actingThreads(t: Trace): string[] {
  const tids = new Set(t.steps.map((s) => s.tid));
  for (const b of t.blocked) tids.add(t.threads.indexOf(b.thread));
  return [...tids].sort((a, b) => a - b).map((tid) => t.threads[tid]!);
}

/** Paths whose value differs between the state before step i and after it. */
function changedPaths(states: readonly FieldValue[][], i: number): string[] {
  const before = new Map(states[i - 1]!.map((f) => [f.path, f.value]));
  return states[i]!.filter((f) => before.get(f.path) !== f.value).map((f) => f.path);
}

let browser: BrowserContext;
let tmp: string;
let cases: Case[];
let main: Case;
let pageCount = 0;

interface Opened {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
  readonly html: string;
}

/** Collects the page's console errors and warnings, uncaught errors, and requests that leave the disk. */
function watch(page: Page): { errors: string[]; requests: string[] } {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) requests.push(url);
  });
  return { errors, requests };
}

/** Writes the page for `trace` to a file and loads it from there. */
async function load(page: Page, trace: Trace, states: FieldValue[][]): Promise<string> {
  const html = traceHtml(trace, states, { replay: `npx ptcheck replay ${trace.model} --variant ${trace.variant} --path ${trace.path}` });
  const file = join(tmp, `trace-${pageCount++}.html`);
  writeFileSync(file, html);
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return html;
}

async function open(trace: Trace, states: FieldValue[][], viewport = { width: 1280, height: 800 }): Promise<Opened> {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const w = watch(page);
  const html = await load(page, trace, states);
  return { page, ...w, html };
}

/** What the panel shows: title, the state table (path -> value) and the highlighted paths. */
async function panel(page: Page): Promise<{ title: string; state: [string, string][]; changed: string[]; changes: string[] }> {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll<HTMLTableRowElement>('#panel table.state tr')];
    return {
      title: document.querySelector('#panel h2')!.textContent!,
      state: rows.map((r) => [r.querySelector('.path')!.textContent!, r.querySelector('.value')!.textContent!] as [string, string]),
      changed: rows.filter((r) => r.classList.contains('changed')).map((r) => r.dataset.path!),
      changes: [...document.querySelectorAll('#panel ul.changes li')].map((li) => li.textContent!),
    };
  });
}

async function selected(page: Page): Promise<string[]> {
  return page.$$eval('.selected', (els) => els.map((e) => (e as HTMLElement).dataset.step!));
}

beforeAll(async () => {
  cases = await engineTraces();
  // the no-rcu use-after-free: three threads act, the last step raises a fault
  const found = cases.find((c) => c.name === 'pte-offset-map-lock [no-rcu] no-use-after-free');
  if (!found) throw new Error('expected a no-use-after-free counterexample for pte-offset-map-lock [no-rcu]');
  main = found;
  if (!HAVE_CHROMIUM) return;
  tmp = mkdtempSync(join(tmpdir(), 'ptcheck-html-'));
  // a fresh profile in the temp dir (playwright passes it as --user-data-dir)
  browser = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('scriptJson', () => {
  it('leaves nothing that can close a script element, and parses back', () => {
    const v = { s: '</script><!-- & \u2028\u2029 >' };
    const j = scriptJson(v);
    expect(j).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(j)).toEqual(v);
  });
});

describe('traceHtml', () => {
  it('is one self-contained document', () => {
    const html = traceHtml(main.trace, main.states);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html.match(/<script/g)).toHaveLength(2);
  });

  it('wants the initial state and one state per step', () => {
    expect(() => traceHtml(main.trace, main.states.slice(1))).toThrow(/need 13 states/);
  });
});

describe.skipIf(!HAVE_CHROMIUM)('the page in Chromium', () => {
  it('loads without console errors or network requests and shows the header', async () => {
    const { page, errors, requests } = await open(main.trace, main.states);
    const t = main.trace;
    const head = await page.textContent('#head');
    for (const s of [t.model, `[${t.variant}]`, '(faults=2)', t.property.name, 'VIOLATED', `(${t.property.kind})`, t.property.doc, t.path]) {
      expect(head).toContain(s);
    }
    expect(await page.title()).toContain(t.model);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    // PTCHECK_HTML_SCREENSHOT=/some/file.png keeps the screenshot for a look at the layout
    const png = process.env.PTCHECK_HTML_SCREENSHOT ?? join(tmp, 'trace.png');
    await page.screenshot({ path: png, fullPage: true });
    expect(statSync(png).size).toBeGreaterThan(10_000);
    await page.close();
  });

  it('has one lane per acting thread, headed like the text race diagram', async () => {
    const { page } = await open(main.trace, main.states);
    const heads = await page.$$eval('.lane-head', (els) => els.map((e) => e.textContent));
    expect(heads).toEqual(actingThreads(main.trace));
    // the text diagram's header row names the same columns
    const headRow = raceDiagram(main.trace).split('\n').find((l) => /^ +CPU0 \(/.test(l))!;
    const textHeads = [...headRow.matchAll(/CPU\d+ \((\S+)\)/g)].map((m) => m[1]);
    expect(heads).toEqual(textHeads);
    expect(heads.length).toBeLessThan(main.trace.threads.length); // rcu does not act here
    await page.close();
  });

  it('draws one box per step, in its thread lane, time running down', async () => {
    const { page } = await open(main.trace, main.states);
    const t = main.trace;
    const boxes = page.locator('.step');
    expect(await boxes.count()).toBe(t.steps.length);
    const heads = new Map<string, { x: number; width: number }>();
    for (const h of await page.locator('.lane-head').all()) heads.set((await h.textContent())!, (await h.boundingBox())!);
    let lastY = -Infinity;
    for (let i = 0; i < t.steps.length; i++) {
      const s = t.steps[i]!;
      const box = boxes.nth(i);
      expect(await box.getAttribute('data-step')).toBe(String(i + 1));
      expect(await box.locator('.label .name').textContent()).toBe(s.label);
      expect(await box.locator('.change').allTextContents()).toEqual(s.changes.map((c) => `${c.path}: ${c.from} -> ${c.to}`));
      expect(await box.locator('.fault').allTextContents()).toEqual(s.faults.map((f) => `!! ${f}`));
      const b = (await box.boundingBox())!;
      const lane = heads.get(s.thread)!;
      expect(b.x).toBeGreaterThanOrEqual(lane.x);
      expect(b.x + b.width).toBeLessThanOrEqual(lane.x + lane.width + 1);
      expect(b.y).toBeGreaterThan(lastY);
      lastY = b.y;
    }
    // the violating step: last, marked, its fault highlighted
    const last = boxes.nth(t.steps.length - 1);
    expect(await last.getAttribute('class')).toMatch(/\bviolation\b/);
    expect(await last.textContent()).toContain('<== violation');
    expect(await last.locator('.fault').textContent()).toBe('!! use-after-free');
    expect(await page.locator('.step.violation').count()).toBe(1);
    await page.close();
  });

  it('shows the full state after a clicked step, with what it changed highlighted', async () => {
    const { page, errors } = await open(main.trace, main.states);
    const t = main.trace;
    for (let i = 1; i <= t.steps.length; i++) {
      await page.locator(`.step[data-step="${i}"]`).click();
      expect(await selected(page)).toEqual([String(i)]);
      const p = await panel(page);
      const s = t.steps[i - 1]!;
      expect(p.title).toBe(`step ${i} of ${t.steps.length}: ${s.thread} ${s.label}`);
      expect(p.state).toEqual(main.states[i]!.map((f) => [f.path, f.value]));
      expect(p.changed).toEqual(changedPaths(main.states, i));
      // every change the step records is a highlighted field (the acting thread's locals under its name)
      for (const c of s.changes) expect(p.changed).toContain(c.thread === s.thread ? `${c.thread}.${c.path}` : c.path);
      expect(p.changes.filter((l) => !l.startsWith('!!') && !l.startsWith('no state change'))).toHaveLength(s.changes.length);
      for (const f of s.faults) expect(p.changes).toContain(`!! ${f}`);
    }
    // the step that clears the pmd changes a global and a local of its thread
    const k = t.steps.findIndex((s) => s.label === 'pmd_clear') + 1;
    await page.locator(`.step[data-step="${k}"]`).click();
    expect((await panel(page)).changed).toEqual(expect.arrayContaining(['pmd', 'remover.cleared']));
    // the initial state
    await page.locator('.init').click();
    const p0 = await panel(page);
    expect(p0.title).toBe('initial state');
    expect(p0.state).toEqual(main.states[0]!.map((f) => [f.path, f.value]));
    expect(p0.changed).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('steps with ArrowDown/ArrowUp, j/k, Home/End and scrolls the selection into view', async () => {
    // a short viewport, so that the last step starts out of view
    const { page, errors } = await open(main.trace, main.states, { width: 1100, height: 420 });
    const n = main.trace.steps.length;
    const inView = () =>
      page.evaluate(() => {
        const box = document.querySelector('.selected')!.getBoundingClientRect();
        const lanes = document.getElementById('lanes')!.getBoundingClientRect();
        return box.top >= lanes.top - 1 && box.bottom <= lanes.bottom + 1;
      });
    expect(await selected(page)).toEqual(['0']);
    await page.locator('.step[data-step="3"]').click();
    await page.keyboard.press('ArrowDown');
    expect(await selected(page)).toEqual(['4']);
    expect((await panel(page)).state).toEqual(main.states[4]!.map((f) => [f.path, f.value]));
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await selected(page)).toEqual(['2']);
    expect((await panel(page)).title).toContain('step 2 of');
    await page.keyboard.press('j');
    expect(await selected(page)).toEqual(['3']);
    await page.keyboard.press('k');
    expect(await selected(page)).toEqual(['2']);
    await page.keyboard.press('End');
    expect(await selected(page)).toEqual([String(n)]);
    expect(await inView()).toBe(true);
    await page.keyboard.press('ArrowDown'); // stays on the last step
    expect(await selected(page)).toEqual([String(n)]);
    await page.keyboard.press('Home');
    expect(await selected(page)).toEqual(['1']);
    expect(await inView()).toBe(true);
    await page.keyboard.press('ArrowUp');
    expect(await selected(page)).toEqual(['0']);
    expect((await panel(page)).title).toBe('initial state');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows model strings that look like markup as text, and runs none of them', async () => {
    const t = main.trace;
    const k = t.steps.findIndex((s) => s.changes.length > 0);
    const victim = t.steps[k]!;
    const oldName = victim.thread;
    const rename = (s: string) => (s === oldName ? EVIL : s);
    const evil: Trace = {
      ...t,
      model: EVIL,
      property: { ...t.property, doc: EVIL },
      threads: t.threads.map(rename),
      steps: t.steps.map((s, i) => ({
        ...s,
        thread: rename(s.thread),
        label: i === k ? EVIL : s.label,
        changes: i === k ? s.changes.map((c, j) => (j === 0 ? { ...c, to: EVIL } : c)) : s.changes,
      })),
    };
    const states = main.states.map((st, i) => (i === k + 1 ? st.map((f, j) => (j === 0 ? { ...f, value: EVIL } : f)) : st));
    const { page, errors, requests, html } = await open(evil, states);
    expect(html).not.toContain('<script>window');
    expect(html).not.toContain('<img');
    expect(await page.$$eval('.lane-head', (els) => els.map((e) => e.textContent))).toContain(EVIL);
    expect(await page.locator(`.step[data-step="${k + 1}"] .label .name`).textContent()).toBe(EVIL);
    expect(await page.locator(`.step[data-step="${k + 1}"] .change`).first().textContent()).toContain(EVIL);
    expect(await page.textContent('#head')).toContain(EVIL);
    await page.locator(`.step[data-step="${k + 1}"]`).click();
    const p = await panel(page);
    expect(p.title).toContain(EVIL);
    expect(p.state[0]![1]).toBe(EVIL);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(2);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('renders the longest trace of each property kind of every shipped model without errors', async () => {
    // one per model and kind keeps the run short as models are added; deadlocks bring stuck threads
    const longest = new Map<string, Case>();
    for (const c of cases) {
      const key = `${c.trace.model} ${c.trace.property.kind}`;
      if ((longest.get(key)?.trace.steps.length ?? -1) < c.trace.steps.length) longest.set(key, c);
    }
    const picked = [...longest.values()];
    expect([...new Set(picked.map((c) => c.trace.property.kind))]).toEqual(expect.arrayContaining(['always', 'final', 'sometimes']));
    const page = await browser.newPage();
    const { errors, requests } = watch(page);
    for (const c of picked) {
      await load(page, c.trace, c.states);
      await page.keyboard.press('End');
      const seen = await page.evaluate(() => ({
        steps: document.querySelectorAll('.step').length,
        heads: [...document.querySelectorAll('.lane-head')].map((e) => e.textContent),
        marked: [...document.querySelectorAll<HTMLElement>('.step.violation')].map((e) => e.dataset.step),
        selected: (document.querySelector('.selected') as HTMLElement | null)?.dataset.step,
        stuck: [...document.querySelectorAll('.stuck')].map((e) => e.textContent),
        state: [...document.querySelectorAll<HTMLTableRowElement>('#panel table.state tr')].map((r) => [
          r.querySelector('.path')!.textContent!,
          r.querySelector('.value')!.textContent!,
        ]),
      }));
      const n = c.trace.steps.length;
      expect(seen.steps, c.name).toBe(n);
      expect(seen.heads, c.name).toEqual(actingThreads(c.trace));
      expect(seen.marked, c.name).toEqual(n ? [String(n)] : []);
      expect(seen.selected, c.name).toBe(String(n));
      expect(seen.state, c.name).toEqual(c.states[n]!.map((f) => [f.path, f.value]));
      expect(seen.stuck, c.name).toEqual(c.trace.blocked.map((b) => `(stuck at ${b.at})`));
      expect(errors, c.name).toEqual([]);
      expect(requests, c.name).toEqual([]);
    }
    await page.close();
  });
});
