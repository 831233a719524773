// Both languages cover the whole UI: the same keys, and every key the page uses exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import en from '../../www/i18n/en.js';
import zh from '../../www/i18n/zh.js';
import { FAMILIES } from '../../www/lib/models.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources() {
  const files = [];
  const walk = (dir) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isDirectory() && !['pkg', 'vendor', 'i18n', 'corpora'].includes(f.name)) walk(p);
      else if (f.name.endsWith('.js')) files.push(p);
    }
  };
  walk(path.join(ROOT, 'www'));
  return files;
}

test('English and Chinese have the same keys, none empty', () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries({ ...en, ...zh })) assert.ok(v.trim(), k);
});

test('placeholders match between the languages', () => {
  const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const k of Object.keys(en)) assert.deepEqual(ph(zh[k]), ph(en[k]), k);
});

test('every key used by the page exists', () => {
  const html = fs.readFileSync(path.join(ROOT, 'index.html'), 'utf8');
  const used = new Set();
  for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) used.add(m[1]);
  for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) for (const pair of m[1].split(';')) used.add(pair.split(':')[1]);
  for (const f of sources()) {
    const js = fs.readFileSync(f, 'utf8');
    for (const m of js.matchAll(/\b(?:t|setStatus)\('([a-z0-9_.-]+)'/g)) used.add(m[1]);
    for (const m of js.matchAll(/\blabel: '([a-z0-9_.-]+)'/g)) used.add(m[1]);
  }
  const missing = [...used].filter((k) => !(k in en));
  assert.deepEqual(missing, []);
  assert.ok(used.size > 100);
});

test('every family, knob, option and help text of the model form has its strings', () => {
  const keys = [];
  for (const f of FAMILIES) {
    keys.push(f.label, `desc.${f.id}`);
    if (f.help) keys.push(f.help);
    for (const p of f.params) {
      keys.push(p.label);
      if (p.help) keys.push(p.help);
      if (p.placeholder) keys.push(p.placeholder);
      for (const o of p.options || []) keys.push(o.label);
    }
  }
  assert.deepEqual(keys.filter((k) => !(k in en) || !(k in zh)), []);
});

// Keys whose Chinese text rightly holds English: the switch to English is labelled in English, and
// the attributions name commands.
const ENGLISH_ON_PURPOSE = new Set(['lang.switch', 'attr.copy-memory', 'attr.temporal-order']);

test('the Chinese interface has no English sentence left (issue 19, defect 3)', () => {
  const left = [];
  for (const [k, v] of Object.entries(zh)) {
    if (ENGLISH_ON_PURPOSE.has(k)) continue;
    // Placeholders, TeX commands and the technical details quoted as such aside, three Latin words in
    // a row are an untranslated sentence.
    const s = v.replace(/（英文技术细节：\{message\}）|KenLM 的英文原话：\{message\}/g, '').replace(/\{\w+\}/g, ' ').replace(/\\[a-zA-Z]+/g, ' ');
    const m = s.match(/[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){2,}/);
    if (m) left.push(`${k}: ${m[0]}`);
  }
  assert.deepEqual(left, []);
});

/** The text inside the parenthesis that opens at `at` (balanced), or null. */
function inParens(s, at) {
  if (at < '.keyed'.length || s[at] !== '(') return null;
  let depth = 0;
  for (let i = at; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return s.slice(at + 1, i);
  }
  return null;
}

/** The core's sources the page runs (the CLI and the benchmarks speak English only). */
function coreSources() {
  const out = [];
  const walk = (dir) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      // error.rs defines the constructors; windows.rs is the CLI's window evaluation.
      if (f.isDirectory()) { if (!['bin', 'tests'].includes(f.name)) walk(p); } else if (f.name.endsWith('.rs') && !['bench.rs', 'windows.rs', 'tests.rs', 'error.rs'].includes(f.name)) out.push(p);
    }
  };
  walk(path.join(ROOT, 'crate/src'));
  // Unit tests inside a file are not paths to the page.
  return out.map((p) => ({ p, src: fs.readFileSync(p, 'utf8').split(/#\[cfg\(test\)\]\s*mod tests/)[0] }));
}

// Codes whose message is a technical detail (a file's field, a parser's line, KenLM's or the
// browser's own words): the Chinese sentence says what went wrong and what to do, and quotes the
// detail as "英文技术细节".
const TECHNICAL = new Set(['file-corrupt', 'file-wrong-format', 'file-truncated', 'file-mismatch', 'file-version', 'file-write', 'cannot-load', 'arpa-parse', 'vocab-mismatch', 'bad-discount', 'invalid-json', 'crashed', 'wasm-load']);

test('every error the core can send the page is worded in both languages (issue 19, defect 3)', () => {
  const problems = [];
  let settings = 0;
  for (const { p, src } of coreSources()) {
    const where = path.relative(ROOT, p);
    if (/Error::config\(/.test(src)) problems.push(`${where}: Error::config (English only) on a path the page can take: use Error::setting`);
    for (const m of src.matchAll(/Error::setting\("([a-z0-9-]+)"/g)) {
      settings++;
      for (const [name, d] of [['en', en], ['zh', zh]]) if (!d[`error.invalid-config.${m[1]}`]) problems.push(`${where}: error.invalid-config.${m[1]} missing in ${name}`);
    }
    for (const m of src.matchAll(/Error::new\(\s*"([a-z0-9-]+)"/g)) {
      const code = m[1];
      if (!zh[`error.${code}`]) { problems.push(`${where}: error.${code} missing in zh`); continue; }
      if (!zh[`error.${code}`].includes('{message}') || TECHNICAL.has(code)) continue;
      // The message is shown inside the Chinese frame: it must come with a key the page words.
      const stmt = src.slice(m.index, src.indexOf(';', m.index));
      // `.keyed("k")`, or a choice of literal keys inside it.
      const keyed = inParens(stmt, stmt.indexOf('.keyed(') + '.keyed'.length);
      const keys = keyed ? [...keyed.matchAll(/"([a-z0-9-]+)"/g)].map((k) => k[1]) : [];
      if (!keys.length) problems.push(`${where}: a "${code}" error without a message key`);
      for (const key of keys) for (const [name, d] of [['en', en], ['zh', zh]]) if (!d[`error.${code}.${key}`]) problems.push(`${where}: error.${code}.${key} missing in ${name}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(settings > 40, `${settings} settings errors found`);
});
