// The model form, generated from lib/models.js: a family select and that family's knobs,
// showing only the knobs the current choices use.
import { FAMILIES, family, applies, defaults } from '../lib/models.js';
import { t } from '../lib/i18n.js';

const $ = (id) => document.getElementById(id);

function inputFor(p) {
  let el;
  if (p.type === 'select') {
    el = document.createElement('select');
    for (const o of p.options) {
      const opt = document.createElement('option');
      opt.value = o.value;
      opt.dataset.i18n = o.label;
      opt.textContent = t(o.label);
      el.append(opt);
    }
  } else {
    el = document.createElement('input');
    el.type = p.type === 'checkbox' ? 'checkbox' : 'number';
    for (const a of ['min', 'max', 'step']) if (p[a] !== undefined) el[a] = p[a];
    if (p.type === 'int') el.step = 1;
  }
  el.id = `p-${p.id}`;
  el.dataset.param = p.id;
  return el;
}

/** Builds the family's inputs; `values` fills them (defaults for missing ones). */
export function buildForm(familyId, values = {}) {
  const f = family(familyId);
  const sel = $('family');
  if (!sel.options.length) {
    for (const fam of FAMILIES) {
      const o = document.createElement('option');
      o.value = fam.id;
      o.dataset.i18n = fam.label;
      o.textContent = t(fam.label);
      sel.append(o);
    }
  }
  sel.value = f.id;
  const box = $('model-params');
  box.replaceChildren();
  const v = { ...defaults(f.id), ...values };
  for (const p of f.params) {
    const label = document.createElement('label');
    label.htmlFor = `p-${p.id}`;
    label.dataset.i18n = p.label;
    label.textContent = t(p.label);
    label.dataset.for = p.id;
    const input = inputFor(p);
    if (p.type === 'checkbox') input.checked = Boolean(v[p.id]);
    else input.value = v[p.id] ?? '';
    box.append(label, input);
  }
  updateVisibility();
}

/** The model settings currently in the form (only the knobs that apply). */
export function readModel() {
  const f = family($('family').value);
  const out = { family: f.id };
  for (const p of f.params) {
    const el = $(`p-${p.id}`);
    if (p.type === 'checkbox') out[p.id] = el.checked;
    else if (p.type === 'select') out[p.id] = el.value;
    else if (el.value === '' && p.optional) continue;
    else out[p.id] = Number(el.value);
  }
  for (const p of f.params) if (!applies(p, out)) delete out[p.id];
  return out;
}

export function updateVisibility() {
  const f = family($('family').value);
  const values = {};
  for (const p of f.params) {
    const el = $(`p-${p.id}`);
    values[p.id] = p.type === 'checkbox' ? el.checked : el.value;
  }
  for (const p of f.params) {
    const show = applies(p, values);
    $(`p-${p.id}`).hidden = !show;
    document.querySelector(`#model-params label[data-for="${p.id}"]`).hidden = !show;
  }
}
