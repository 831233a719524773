// The runs table: the training runs kept in IndexedDB, a page at a time, newest first; tick runs (on
// any page) to compare them side by side and overlay their curves. Runs whose vocabularies differ are
// flagged: their perplexities are not comparable. The table reads only the runs' summaries; a run's
// curve is read when it is ticked. Past MAX_RUNS the oldest unpinned runs are dropped (lib/store.js).
import { runsPage, getRun, getCurve, deleteRun, setPinned, MAX_RUNS, MAX_PINNED } from '../lib/store.js';
import { lineChart, align } from '../lib/charts.js';
import { t } from '../lib/i18n.js';
import { fmtInt, fmtPpl } from '../lib/format.js';
import { describeModel } from '../lib/describe.js';
import { errorText, showErrorIn } from '../lib/errors.js';

const $ = (id) => document.getElementById(id);
let chart = null;
/** Ids of the ticked runs (on any page). */
const selected = new Set();
/** The page of the table shown (0: the newest runs). */
let page = 0;
/** Curves read so far, by run id (a run's curve never changes). */
const curves = new Map();

/** Says in the runs card that an action failed (`key`: its message, with the run's number). */
function showRunError(key, r, e) {
  showErrorIn($('runs-error'), e && { message: t(key, { n: r?.id ?? '', message: errorText(e) }) });
}

/** Runs an action of the runs card; its failure is shown in the card, every time. */
async function act(key, r, fn) {
  showRunError(null);
  try {
    await fn();
  } catch (e) {
    showRunError(key, r, e);
  }
}

export function setupRuns(app) {
  const turn = (by, other) => act('runs.refresh_failed', null, async () => {
    page += by;
    await refreshRuns(app);
    // A button disabled at the first or last page would drop the keyboard focus: hand it over.
    const b = by < 0 ? $('runs-newer') : $('runs-older');
    if (b.disabled && document.activeElement === b) $(other).focus();
  });
  $('runs-newer').addEventListener('click', () => turn(-1, 'runs-older'));
  $('runs-older').addEventListener('click', () => turn(1, 'runs-newer'));
  $('runs').addEventListener('change', (e) => {
    if (!e.target.matches('input[type=checkbox]')) return;
    const id = Number(e.target.dataset.run);
    if (e.target.checked) selected.add(id); else selected.delete(id);
    act('runs.refresh_failed', null, () => refreshRuns(app));
  });
  document.addEventListener('langchange', () => {
    chart?.destroy(); // axis labels are set when a chart is made
    chart = null;
    act('runs.refresh_failed', null, () => refreshRuns(app));
  });
}

/** Flattens settings to dotted keys: { data: { min_count: 2 } } → { 'data.min_count': 2 }. */
function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/** The ticked runs side by side: their results, and every setting in which they differ. */
function renderComparison(chosen) {
  const box = $('runs-compare');
  box.hidden = chosen.length < 2;
  if (chosen.length < 2) { box.replaceChildren(); return; }
  const flat = chosen.map((r) => flatten(r.settings));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const differing = keys.filter((k) => new Set(flat.map((f) => f[k] ?? '—')).size > 1);
  const rows = [
    [t('runs.model'), ...chosen.map((r) => describeModel(r.settings?.model, r.report.model.description))],
    [t('runs.corpus'), ...chosen.map(corpusLabel)],
    [t('runs.ppl'), ...chosen.map((r) => fmtPpl(r.report.validation.perplexity))],
    [t('results.ppl_excl'), ...chosen.map((r) => fmtPpl(r.report.validation.perplexity_excluding_oov))],
    [t('runs.m'), ...chosen.map((r) => fmtInt(r.report.validation.m))],
    [t('results.vocab'), ...chosen.map((r) => fmtInt(r.report.data.vocab_size))],
    ...differing.map((k) => [k, ...flat.map((f) => f[k] ?? '—')]),
  ];
  const tbl = document.createElement('table');
  tbl.className = 'data';
  const head = tbl.createTHead().insertRow();
  for (const h of ['', ...chosen.map((r) => `#${r.id}`)]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = tbl.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((c, i) => {
      const cell = i === 0 ? document.createElement('th') : tr.insertCell();
      if (i === 0) { cell.scope = 'row'; tr.append(cell); }
      cell.textContent = c;
    });
  }
  const title = document.createElement('h3');
  title.textContent = t('runs.side_by_side');
  box.replaceChildren(title, tbl);
}

function corpusLabel(r) {
  if (r.corpus?.preset) return t(`preset.${r.corpus.preset}`);
  return t('runs.custom', { chars: fmtInt(r.corpus?.chars ?? 0) });
}

function button(key, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small';
  b.textContent = t(key);
  b.addEventListener('click', onClick);
  return b;
}

/** The ticked runs, newest first: from this page, or read by id (ticked on another page). */
async function chosenRuns(runs) {
  const here = new Map(runs.map((r) => [r.id, r]));
  const chosen = await Promise.all([...selected].map(async (id) => here.get(id) ?? getRun(id)));
  for (const [i, id] of [...selected].entries()) if (!chosen[i]) selected.delete(id); // gone
  return chosen.filter(Boolean).sort((a, b) => b.id - a.id);
}

async function curveOf(r) {
  if (!curves.has(r.id)) curves.set(r.id, (r.hasCurve ? await getCurve(r.id) : r.curve) || []);
  return curves.get(r.id);
}

function renderPager({ total, page: p, pages }) {
  $('runs-pager').hidden = pages <= 1;
  $('runs-newer').disabled = p <= 0;
  $('runs-older').disabled = p >= pages - 1;
  $('runs-page').textContent = t('runs.page', { page: fmtInt(p + 1), pages: fmtInt(pages), total: fmtInt(total) });
}

/** Forgets the page shown and shows the newest runs (after a new run is recorded). */
export function showNewestRuns(app) {
  page = 0;
  return refreshRuns(app);
}

/** Forgets runs that were dropped from the store. */
export function forgetRuns(ids) {
  for (const id of ids) { selected.delete(id); curves.delete(id); }
}

let refreshes = 0;

export async function refreshRuns(app) {
  // Refreshes overlap (ticks, pages, a new run): only the latest one draws.
  const mine = ++refreshes;
  const stale = () => mine !== refreshes;
  $('runs-hint').textContent = t('runs.hint', { max: fmtInt(MAX_RUNS) });
  let res;
  try {
    res = await runsPage(page);
    if (stale()) return;
  } catch {
    $('runs').tBodies[0].replaceChildren();
    $('runs-pager').hidden = true;
    $('runs-warning').hidden = false;
    $('runs-warning').textContent = t('runs.no_storage');
    return;
  }
  const { runs } = res;
  page = res.page;
  renderPager(res);
  const body = $('runs').tBodies[0];
  const chosen = await chosenRuns(runs);
  if (stale()) return;
  const refVocab = chosen[0]?.vocab;
  body.replaceChildren(...runs.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.run = r.id;
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    cb.dataset.run = r.id;
    cb.checked = selected.has(r.id);
    cb.setAttribute('aria-label', t('runs.compare_run', { n: r.id }));
    const ppl = document.createElement('span');
    ppl.textContent = fmtPpl(r.report.validation.perplexity);
    if (refVocab && selected.has(r.id) && r.vocab !== refVocab) {
      const flag = document.createElement('span');
      flag.className = 'flag';
      flag.textContent = ' ⚠';
      flag.title = t('runs.vocab_differs');
      ppl.append(flag);
    }
    const actions = document.createElement('span');
    actions.className = 'row-actions';
    const pin = button('runs.pin', () => act('runs.pin_failed', r, async () => {
      try {
        await setPinned(r.id, !r.pinned);
      } catch (e) {
        throw e.code === 'pin-limit' ? new Error(t('runs.pin_limit', { max: fmtInt(MAX_PINNED) })) : e;
      }
      await refreshRuns(app);
    }));
    pin.setAttribute('aria-pressed', String(Boolean(r.pinned)));
    pin.title = t('runs.pin_title', { max: fmtInt(MAX_RUNS), pinned: fmtInt(MAX_PINNED) });
    actions.append(pin);
    actions.append(button('runs.restore', () => act('runs.restore_failed', r, () => app.restoreRun(r))));
    if (r.modelStored) actions.append(button('runs.load', () => app.loadRunModel(r)));
    actions.append(button('runs.delete', () => act('runs.delete_failed', r, async () => {
      await deleteRun(r.id);
      forgetRuns([r.id]);
      await refreshRuns(app);
    })));
    const cells = [
      cb,
      new Date(r.date).toLocaleString(),
      corpusLabel(r),
      describeModel(r.settings?.model, r.report.model.description),
      ppl,
      fmtInt(r.report.validation.m),
      `${(r.elapsedMs / 1000).toFixed(2)} s${r.stopped ? ` (${t('runs.stopped')})` : ''}`,
      r.backend,
      actions,
    ];
    for (const c of cells) {
      const td = tr.insertCell();
      if (c instanceof Node) td.append(c); else td.textContent = c;
    }
    return tr;
  }));
  renderComparison(chosen);
  if (!runs.length) {
    const td = body.insertRow().insertCell();
    td.colSpan = 9;
    td.className = 'hint';
    td.textContent = t('runs.empty');
  }
  // The vocabulary warning and the overlay of the chosen runs' curves (read now, for these runs only).
  const vocabs = new Set(chosen.map((r) => r.vocab));
  $('runs-warning').hidden = vocabs.size <= 1;
  $('runs-warning').textContent = vocabs.size > 1 ? t('runs.not_comparable') : '';
  const withCurves = [];
  for (const r of chosen) {
    const valid = (await curveOf(r)).filter((p) => p[2] !== null);
    if (valid.length) withCurves.push({ r, valid });
  }
  if (stale()) return;
  $('runs-chart').hidden = withCurves.length === 0;
  if (withCurves.length) {
    // Validation loss only: it is measured on the same fixed tokens at every point, so runs compare.
    const series = withCurves.map(({ r }) => ({ label: `#${r.id} ${describeModel(r.settings?.model, r.report.model.description)}` }));
    const data = align(withCurves.map(({ valid }) => valid.map((p) => [p[0], p[2]])));
    chart ??= lineChart($('runs-chart'), { series, xLabel: t('chart.step'), yLabel: t('chart.valid_loss'), points: true });
    chart.setSeries(series, data);
  }
}
