// Browser-test harness: serves the repo root and drives Debian's headless chromium with playwright-core.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './server.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
/** The native CLI the page is compared with: `./build.sh test` builds target/ci/lmplay (LMPLAY_CLI). */
export const CLI = path.resolve(ROOT, process.env.LMPLAY_CLI || 'target/release/lmplay');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Starts the server and the browser once per test file. CHROMIUM_EXTRA adds flags (space-separated)
 * for benchmark experiments, e.g. `--js-flags=...` for V8; run.mjs records them with the results.
 */
export async function startBrowser() {
  const server = await serve({ root: ROOT, port: 0 });
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(process.env.CHROMIUM_EXTRA ? process.env.CHROMIUM_EXTRA.split(' ') : []),
    ],
  });
  return {
    url,
    browser,
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A fresh page with console errors and page errors collected into `errors`. */
export async function openPage(env, { viewport = { width: 1280, height: 900 }, query = '', hash = '', context = null, contextOptions = {} } = {}) {
  context ??= await env.browser.newContext({ viewport, ...contextOptions });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
  await page.goto(env.url + query + hash);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  return page;
}

/** Saves a screenshot artifact: the whole page, or just the element `selector`. */
export async function screenshot(page, name, selector = null) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Pastes text into a textarea the way a user's paste does (sets the value, fires `input`). */
export async function paste(page, selector, text) {
  await page.$eval(selector, (el, t) => {
    el.focus();
    el.value = t;
    el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
  }, text);
}

/** Waits until training has a result (a perplexity) or the page shows an error; returns the error text or null. */
export async function waitForResult(page, timeout = 180000) {
  await page.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '' || !document.getElementById('error').hidden, null, { timeout });
  return page.$eval('#error', (el) => (el.hidden ? null : el.textContent));
}

/** Clicks Train and waits for the result; returns the error text or null. */
export async function clickTrain(page, timeout = 180000) {
  await page.click('#train');
  return waitForResult(page, timeout);
}

/** Trains, fails the test on an error, and waits until the page can train again. */
export async function trainNow(page, timeout = 120000) {
  const err = await clickTrain(page, timeout);
  assert.equal(err, null, err);
  await page.waitForFunction(() => !document.getElementById('train').disabled);
}

/** Sets the model form's knobs (`#p-<id>`) and fires `change`, as a user's edit does. */
export async function setKnobs(page, knobs) {
  for (const [id, v] of Object.entries(knobs)) {
    const sel = `#p-${id}`;
    if (await page.$eval(sel, (el) => el.tagName) === 'SELECT') await page.selectOption(sel, v);
    else await page.fill(sel, String(v));
    await page.$eval(sel, (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  }
}

/**
 * axe-core's serious and critical violations (WCAG 2 A/AA and best practices) inside `selector`, as
 * lines. The page must have been opened with `contextOptions: { bypassCSP: true }`: axe is injected as a
 * script, which the page's CSP (rightly) forbids.
 */
export async function axeViolations(page, selector) {
  await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
  const res = await page.evaluate((sel) => window.axe.run(sel, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }), selector);
  return res.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}
