// Small DOM builders shared by the views: labelled fields, a form with a button, bar lists, tables.
// Everything that shows model or corpus text uses textContent.
import { t } from '../lib/i18n.js';

let uid = 0;

/** An element with a class and text (as text). */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A labelled input: { wrap, input }. */
export function field(type, labelKey, value, attrs = {}) {
  const id = `f${++uid}`;
  const wrap = document.createElement('div');
  wrap.className = 'field';
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = t(labelKey);
  const input = document.createElement('input');
  input.type = type;
  input.id = id;
  input.value = value;
  Object.assign(input, attrs);
  wrap.append(label, input);
  return { wrap, input };
}

/**
 * A row of fields with a submit button; Enter in any field submits. Every submission dispatches
 * `view-submit`, and `view-error` (detail: the error) if `onSubmit` throws or its promise rejects;
 * both bubble to the view's box, which shows the error (ui/views.js).
 */
export function form(fields, buttonKey, onSubmit) {
  const f = document.createElement('form');
  f.className = 'view-form';
  f.append(...fields.map((x) => x.wrap));
  const b = document.createElement('button');
  b.type = 'submit';
  b.textContent = t(buttonKey);
  f.append(b);
  onSubmitted(f, onSubmit);
  return f;
}

/** Runs `onSubmit` on every submission of form `f`, dispatching `view-submit` and `view-error`. */
export function onSubmitted(f, onSubmit) {
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    f.dispatchEvent(new CustomEvent('view-submit', { bubbles: true }));
    Promise.resolve()
      .then(onSubmit)
      .catch((err) => f.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: err })));
  });
}

/** Horizontal bars: rows [{ label, value (0..1), note? }]. */
export function barList(rows, { max = null, fmt = (v) => v.toPrecision(3) } = {}) {
  const top = max ?? Math.max(...rows.map((r) => r.value), 1e-12);
  const list = document.createElement('div');
  list.className = 'bars';
  for (const r of rows) {
    const row = document.createElement('div');
    row.className = 'bar-row';
    const label = document.createElement('span');
    label.className = 'bar-label';
    label.textContent = r.label === '\n' ? '↵' : r.label;
    const track = document.createElement('span');
    track.className = 'bar-track';
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(0.5, (100 * r.value) / top)}%`;
    track.append(bar);
    const val = document.createElement('span');
    val.className = 'bar-value';
    val.textContent = r.note ?? fmt(r.value);
    row.append(label, track, val);
    list.append(row);
  }
  return list;
}

/** A table from header keys and rows of cell values (strings or nodes). */
export function table(headKeys, rows) {
  const tbl = document.createElement('table');
  tbl.className = 'data';
  const thead = tbl.createTHead().insertRow();
  for (const k of headKeys) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = t(k);
    thead.append(th);
  }
  const body = tbl.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) {
      const td = tr.insertCell();
      if (c instanceof Node) td.append(c);
      else td.textContent = c ?? '—';
    }
  }
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  wrap.append(tbl);
  return wrap;
}

/**
 * A form for a long job the view runs on request: its fields, a submit button and a Stop button (ids
 * `<id>-run`, `<id>-stop`), and a status line. Submissions dispatch `view-submit` / `view-error` like
 * `form`. Returns { form, start, stop, status }.
 */
export function runForm(fields, id, runKey, stopKey, onSubmit) {
  const f = document.createElement('form');
  f.className = 'view-form';
  const start = el('button', '', t(runKey));
  start.type = 'submit';
  start.id = `${id}-run`;
  const stop = el('button', '', t(stopKey));
  stop.type = 'button';
  stop.id = `${id}-stop`;
  f.append(...fields, start, stop);
  const status = el('p', 'hint');
  status.setAttribute('role', 'status');
  onSubmitted(f, onSubmit);
  return { form: f, start, stop, status };
}
