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
