// The model form, generated from lib/models.js: a family select and that family's knobs,
// showing only the knobs the current choices use. A family's or knob's `help` is a hint line that
// the control names as its description (aria-describedby), so screen readers read it too.
import { FAMILIES, family, applies, defaults, getParam, setParam } from '../lib/models.js';
import { t } from '../lib/i18n.js';
import { setControl } from '../lib/settings.js';

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
    if (p.placeholder) {
      el.placeholder = t(p.placeholder);
      el.dataset.i18nAttr = `placeholder:${p.placeholder}`;
    }
    if (p.type === 'int') el.step = 1;
  }
  el.id = `p-${p.id}`;
  el.dataset.param = p.id;
  return el;
}

/** A hint line (translated, following language switches), spanning the form's two columns. */
function helpFor(key, id) {
  const help = document.createElement('p');
  help.className = 'hint help';
  help.id = id;
  help.dataset.i18n = key;
  help.textContent = t(key);
  return help;
}

/** Builds the family's inputs; `model` (settings JSON) fills them (defaults for missing ones). */
export function buildForm(familyId, model = {}) {
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
  shown = f;
  const box = $('model-params');
  box.replaceChildren();
  if (f.help) {
    box.append(helpFor(f.help, 'family-help'));
    sel.setAttribute('aria-describedby', 'family-help');
  } else sel.removeAttribute('aria-describedby');
  const v = defaults(f.id);
  for (const p of f.params) {
    const given = getParam(model, p);
    if (given !== undefined) v[p.id] = given;
  }
  for (const p of f.params) {
    const label = document.createElement('label');
    label.htmlFor = `p-${p.id}`;
    label.dataset.i18n = p.label;
    label.textContent = t(p.label);
    label.dataset.for = p.id;
    const input = inputFor(p);
    box.append(label, input);
    if (p.help) {
      box.append(helpFor(p.help, `p-${p.id}-help`));
      input.setAttribute('aria-describedby', `p-${p.id}-help`);
    }
    // Defaults first, then the given value if it is valid for this control.
    setControl(input, p.default);
    if (v[p.id] !== p.default) setControl(input, v[p.id]);
  }
  updateVisibility();
}

/** The family whose knobs the form shows. */
let shown = null;

/** The knobs' values by param id. */
function values(f = family($('family').value)) {
  const v = {};
  for (const p of f.params) {
    const el = $(`p-${p.id}`);
    if (p.type === 'checkbox') v[p.id] = el.checked;
    else if (p.type === 'select') v[p.id] = el.value;
    else if (el.value === '' && p.optional) continue;
    else v[p.id] = Number(el.value);
  }
  return v;
}

/**
 * Shows another family's knobs (the family select changed). Between the recurrent families (RNN,
 * LSTM, GRU), the knobs they share keep their values, so the cells compare on equal terms.
 */
export function switchFamily(familyId) {
  const next = family(familyId);
  const carry = shown?.recurrent && next.recurrent ? readModel(shown) : {};
  buildForm(next.id, carry);
}

/** The model settings JSON currently in the form (only the knobs that apply). */
export function readModel(f = family($('family').value)) {
  const v = values(f);
  const out = { family: f.id };
  for (const p of f.params) if (p.id in v && applies(p, v)) setParam(out, p, v[p.id]);
  return out;
}

export function updateVisibility() {
  const f = family($('family').value);
  const v = values();
  for (const p of f.params) {
    const show = applies(p, v);
    $(`p-${p.id}`).hidden = !show;
    document.querySelector(`#model-params label[data-for="${p.id}"]`).hidden = !show;
    const help = $(`p-${p.id}-help`);
    if (help) help.hidden = !show;
  }
}
