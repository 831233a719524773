// The runs table: the training runs kept in IndexedDB, a page at a time, newest first; tick runs (on
// any page) to compare them side by side and overlay their curves. Runs whose vocabularies differ are
// flagged: their perplexities are not comparable. The table reads only the runs' summaries; a run's
// curve is read when it is ticked. Past MAX_RUNS the oldest unpinned runs are dropped (lib/store.js).
import { runsPage, getRun, getCurve, deleteRun, setPinned, MAX_RUNS, MAX_PINNED } from '../lib/store.js';
import { lineChart } from '../lib/charts.js';
import { t } from '../lib/i18n.js';
import { fmtInt, fmtPpl, fmtPct, fmtBits } from '../lib/format.js';
import { describeModel } from '../lib/describe.js';
import { errorText, showErrorIn } from '../lib/errors.js';
import { comparisonSeries, levelOf, vocabGroups } from '../lib/compare.js';
import { pngButton, chartParts, besideHeading } from './png.js';
import { settingLabel, flattenSettings } from '../lib/models.js';

const $ = (id) => document.getElementById(id);
let chart = null;
/** The comparison chart's y axis (loss or perplexity, `chart` is made for it) and curves shown. */
const cmp = { y: 'loss', chartY: null, train: true, valid: true };
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
  const redraw = () => act('runs.refresh_failed', null, () => refreshRuns(app));
  for (const id of ['runs-y-loss', 'runs-y-ppl']) $(id).addEventListener('change', (e) => { cmp.y = e.target.value; redraw(); });
  $('runs-show-train').addEventListener('change', (e) => { cmp.train = e.target.checked; redraw(); });
  $('runs-show-valid').addEventListener('change', (e) => { cmp.valid = e.target.checked; redraw(); });
  besideHeading($('runs-cmp-h'), pngButton(() => ({
    title: t('runs.cmp_title'),
    subtitle: $('runs-cmp-warning').hidden ? '' : $('runs-cmp-warning').textContent,
    chart: cmp.y === 'ppl' ? 'runs-perplexity' : 'runs-loss',
    ...chartParts(() => chart),
  }), { onError: (e) => showErrorIn($('runs-error'), e) }));
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

/** What a run's tokens are, in short: "characters", "BPE 512"… */
function tokensLabel(data) {
  const kind = data?.tokenizer?.kind ?? 'word';
  return t(`runs.tok.${kind}`, { size: fmtInt(data?.bpe_vocab ?? 512) });
}

/** A setting's value as the form names it where it has a name (the tokenizer), else as it is. */
function settingValue(key, v) {
  if (v === undefined) return '—';
  if (key === 'data.tokenizer.kind' && t(`tok.${v}`) !== `tok.${v}`) return t(`tok.${v}`);
  return v;
}

/** The ticked runs side by side: their results, and every setting in which they differ. */
function renderComparison(chosen) {
  const box = $('runs-compare');
  box.hidden = chosen.length < 2;
  if (chosen.length < 2) { box.replaceChildren(); return; }
  const flat = chosen.map((r) => flattenSettings(r.settings));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const differing = keys.filter((k) => new Set(flat.map((f) => f[k] ?? '—')).size > 1);
  const rows = [
    [t('runs.model'), ...chosen.map((r) => describeModel(r.settings?.model, r.report.model.description))],
    [t('runs.corpus'), ...chosen.map(corpusLabel)],
    [t('runs.ppl'), ...chosen.map((r) => fmtPpl(r.report.validation.perplexity))],
    [t('results.ppl_excl'), ...chosen.map((r) => fmtPpl(r.report.validation.perplexity_excluding_oov))],
    // Comparable across tokenizers, where per-token perplexity is not.
    [t('results.bpc'), ...chosen.map((r) => fmtBits(r.report.bits_per_char))],
    [t('runs.m'), ...chosen.map((r) => fmtInt(r.report.validation.m))],
    [t('results.vocab'), ...chosen.map((r) => fmtInt(r.report.data.vocab_size))],
    ...(chosen.some((r) => r.saturation) ? [[t('runs.saturation'), ...chosen.map(saturationText)]] : []),
    // Each setting by its label in the form (the dotted key where the form has none).
    ...differing.map((k) => [settingLabel(k) ? t(settingLabel(k)) : k, ...flat.map((f) => settingValue(k, f[k]))]),
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

/** A run's last gate-saturation sample, in short: `L1 f 12%, i 30%, o 8%`. */
function saturationText(r) {
  const s = r.saturation;
  if (!s?.layers?.length) return '—';
  return s.layers.map((l) => `L${l.layer + 1} ${Object.keys(l.saturation).sort().map((g) => `${g} ${fmtPct(l.saturation[g])}`).join(', ')}`).join('; ');
}

/** The data a run was trained and validated on: runs compare only on the same split. */
function splitKey(r) {
  const d = r.settings?.data || {};
  return JSON.stringify([r.corpus?.preset ?? r.corpus?.name ?? '', r.corpus?.chars ?? 0, d.valid_fraction, d.split, d.split_unit ?? 'unit', d.split === 'tail' ? null : r.settings?.seed]);
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
      // The tokens too: a per-token perplexity means little without them (a BPE run's is per subword).
      `${describeModel(r.settings?.model, r.report.model.description)} · ${tokensLabel(r.settings?.data)}`,
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
  const runsData = [];
  for (const r of [...chosen].reverse()) runsData.push({ r, curve: await curveOf(r) }); // oldest first: stable colours
  if (stale()) return;
  drawComparison(runsData);
}

/**
 * The comparison chart (docs/ui.md, "Runs"): the ticked runs of every family on one chart — training
 * (smoothed, dashed) and validation loss by step, or perplexity on a log axis; a run without a curve
 * (an n-gram model) as a dotted level line at its validation loss — with the warnings that make the
 * numbers incomparable: different vocabularies, different data splits.
 */
function drawComparison(runsData) {
  const runs = runsData.map(({ r, curve }) => ({
    label: `#${r.id} ${describeModel(r.settings?.model, r.report.model.description)}`,
    curve,
    level: curve.length ? null : levelOf(r.report),
  }));
  const names = { train: t('runs.cmp_train_series'), valid: t('runs.cmp_valid_series'), level: t('runs.cmp_level_series') };
  const { series, data } = comparisonSeries(runs, { y: cmp.y, train: cmp.train, valid: cmp.valid, names });
  const show = runsData.length > 0;
  $('runs-cmp').hidden = !show;
  $('runs-chart').hidden = !show || series.length === 0;
  const groups = vocabGroups(runsData.map(({ r }) => r));
  const splits = new Set(runsData.map(({ r }) => splitKey(r)));
  const warnings = [];
  if (groups.length > 1) warnings.push(t('runs.cmp_vocab', { groups: groups.map((g) => g.ids.map((id) => `#${id}`).join(', ')).join(' | ') }));
  if (splits.size > 1) warnings.push(t('runs.cmp_split'));
  $('runs-cmp-warning').hidden = warnings.length === 0;
  $('runs-cmp-warning').textContent = warnings.join(' ');
  const levels = runsData.filter(({ curve }) => !curve.length);
  const note = $('runs-cmp-note');
  note.hidden = !show;
  note.textContent = [
    t(cmp.y === 'ppl' ? 'runs.cmp_note_ppl' : 'runs.cmp_note_loss'),
    levels.length ? t('runs.cmp_note_level', { runs: levels.map(({ r }) => `#${r.id}`).join(', ') }) : '',
    series.length ? '' : t('runs.cmp_nothing'),
  ].filter(Boolean).join(' ');
  const box = $('runs-chart');
  box.dataset.series = String(series.length);
  box.dataset.kinds = [...new Set(series.map((s) => s.kind))].sort().join(' ');
  if (!series.length) return;
  if (!chart || cmp.chartY !== cmp.y) {
    chart?.destroy();
    chart = lineChart(box, { series, xLabel: t('chart.step'), yLabel: t(cmp.y === 'ppl' ? 'runs.cmp_y_ppl' : 'chart.loss'), logY: cmp.y === 'ppl', points: true });
    cmp.chartY = cmp.y;
    box.dataset.y = cmp.y;
  }
  chart.setSeries(series, data);
}
