// The page: wires the form, the training worker, the views, runs, share links and persistence.
// All computation happens in the worker (www/worker.js); this thread only draws.
import { worker } from './boot.js';
import { readSettings, applySettings, readSampling, applySampling, showTokenizerKnobs } from './lib/settings.js';
import { fmtInt, fmtPpl, fmtPct, fmtDuration, fmtBytes, fmtBits } from './lib/format.js';
import { t, detectLang, setLang, getLang } from './lib/i18n.js';
import { encodeState, decodeHash, LINK_BUDGET, LinkError, DEVICES } from './lib/share.js';
import * as store from './lib/store.js';
import { lineChart } from './lib/charts.js';
import { appendPoints, fromHistory } from './lib/curve.js';
import { smooth } from './lib/compare.js';
import { trainingRates } from './lib/progress.js';
import { errorText } from './lib/errors.js';
import { renderTex } from './lib/math.js';
import { FAMILIES, FORMULAS, POSITIONAL, family } from './lib/models.js';
import { cleanViewStates, cleanCost, cleanComparison } from './lib/viewstate.js';
import { decodeText } from './lib/textfile.js';
import { buildForm, switchFamily, updateVisibility, readModel } from './ui/modelform.js';
import { describeModel } from './lib/describe.js';
import { setupGenerate } from './ui/generate.js';
import { setupViews, renderViews, liveUpdate } from './ui/views.js';
import { setupRuns, refreshRuns, showNewestRuns, forgetRuns } from './ui/runs.js';
import { setupFiles, openModelFile } from './ui/files.js';
import { modelChartPng, besideHeading } from './ui/png.js';
import { setupSaturation, resetSaturation, onSaturation, lastSaturation } from './ui/saturation.js';
import { showGenerative } from './ui/bidirectional.js';

const $ = (id) => document.getElementById(id);

/** Largest corpus the page accepts; bigger ones belong to the CLI. */
export const MAX_CORPUS_CHARS = 32 * 1024 * 1024;

const PRESET_LIST = {
  shakespeare: { url: 'www/corpora/shakespeare.txt', attribution: 'attr.shakespeare' },
  tang300: { url: 'www/corpora/tang300.txt', attribution: 'attr.tang300' },
  // Long-range tasks (crate/src/tasks): files the core's generator wrote (`lmplay task ID`); the
  // `long-range` view measures accuracy against distance on them (ui/views-longrange.js).
  'copy-memory': { url: 'www/corpora/copy-memory.txt', attribution: 'attr.copy-memory', task: 'copy-memory' },
  'temporal-order': { url: 'www/corpora/temporal-order.txt', attribution: 'attr.temporal-order', task: 'temporal-order' },
};


/** A preset by id (own entries only: ids come from links and storage). */
export const preset = (id) => (Object.hasOwn(PRESET_LIST, id) ? PRESET_LIST[id] : null);

const app = {
  announce: (key, params) => announce(key, params),
  setStatus: (key, params) => setStatus(key, params),
  loadTextFile: (f) => loadTextFile(f).catch((e) => app.showError(e)),
  worker,
  state: { training: false, paused: false, trained: false, generating: false, modelSettings: null, report: null },
  activeView: 'next',
  lastPrompt: '',
  lossChart: null,
  curve: [],

  showError(e) {
    const box = $('error');
    box.hidden = !e;
    box.textContent = e ? errorText(e) : '';
    if (e?.code === 'bad-discount') {
      // KenLM's refusal, with its remedy one click away.
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'small';
      b.textContent = t('error.use_fallback');
      b.addEventListener('click', () => {
        const cb = $('p-discount_fallback');
        if (cb) cb.checked = true;
        app.saveSoon();
        train();
      });
      box.append(document.createElement('br'), b);
    }
    if (e) box.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  },

  view(name, args) { return app.worker.call('view', { name, args }); },

  /** The long-range task the model was trained on (its corpus preset), or null. */
  task() {
    return app.state.task ?? null;
  },

  refreshButtons() {
    const s = app.state;
    const busy = s.training || s.generating;
    $('train').disabled = !s.ready || busy;
    $('new-seed').disabled = !s.ready;
    $('pause').disabled = !s.training || s.paused || !s.pausable;
    $('pause').hidden = s.paused;
    $('resume').hidden = !s.paused;
    $('resume').disabled = !s.paused || s.generating; // the model must not change under a generation
    // An n-gram model is counted and estimated in one call into the core: nothing can stop it part-way.
    // The core says so once the model is prepared (`stoppable`); until then the family does.
    const unstoppable = s.training && !(s.stoppable ?? family(s.modelSettings?.family).neural);
    $('stop').disabled = !s.training || unstoppable;
    const why = unstoppable ? t('train.stop_ngram') : '';
    $('stop').title = why;
    $('stop-why').textContent = why;
    $('reset').disabled = !s.ready || busy;
    const more = continueTo(s);
    $('continue').hidden = !more || s.training;
    $('continue').disabled = !s.ready || busy;
    $('continue').textContent = more ? t('train.continue_to', { steps: fmtInt(more) }) : t('train.continue');
    // A neural model exists from initialisation on, so it can generate while training is paused.
    const canUse = (s.trained || s.live) && (!s.training || s.paused) && !s.generating;
    // A bidirectional model cannot generate; the page says why (ui/bidirectional.js). The notes
    // follow the current model at every refresh, a new run's included.
    const lm = showGenerative(s);
    $('generate').disabled = !canUse || !lm;
    $('gen-stop').disabled = !s.generating;
    $('score').disabled = !canUse;
    $('share').disabled = busy && !s.paused;
    const m = s.modelSettings;
    // ARPA holds backoff models of whitespace-free words: not add-k, stupid backoff or BPE subwords.
    const arpaModel = m?.family === 'ngram' && !['addk', 'stupid-backoff'].includes(m.method) && s.settings?.data?.tokenizer?.kind !== 'bpe';
    $('export-model').disabled = !s.trained || s.training || m?.source === 'arpa';
    $('export-arpa').hidden = !arpaModel;
    $('export-arpa').disabled = !s.trained || s.training;
  },

  saveSoon() {
    // A demo opened from a link is not saved over the user's own page until they change something.
    if (app.demo) return;
    clearTimeout(app.saveTimer);
    app.saveTimer = setTimeout(savePage, 400);
  },
};

/**
 * "Train more": the step count Continue trains the current model to (the form's Steps), or 0 where it
 * is not offered — a neural model with its data in the worker (a finished or stopped run, or a file
 * loaded with its corpus) and Steps above the steps it has taken. It keeps the optimizer state and
 * the loss curve.
 */
function continueTo(s) {
  if (!s.trained || !s.withData || !family(s.modelSettings?.family).neural) return 0;
  if ($('family').value !== s.modelSettings.family) return 0; // the form shows another model
  const steps = Number($('p-steps')?.value);
  return Number.isInteger(steps) && steps > (s.stepsDone ?? 0) && steps <= 1_000_000 ? steps : 0;
}

/** The status line; kept as a key so it follows a language switch. */
function setStatus(key, params = {}) {
  app.status = key ? { key, params } : null;
  $('status').textContent = key ? t(key, params) : '';
}

/** Tells screen readers about a change of phase (the status line itself changes too often to be live). */
function announce(key, params = {}) {
  $('announce').textContent = t(key, params);
}

// ---------- corpus ----------

function updateCorpusSize() {
  $('corpus-size').textContent = t('data.size', { n: fmtInt($('corpus').value.length) });
}

function setAttribution() {
  const p = preset($('preset').value);
  $('attribution').textContent = p ? t(p.attribution) : (app.fileName ? `· ${app.fileName}` : '');
}

async function loadPreset(id) {
  const p = preset(id);
  if (!p) return;
  const res = await fetch(p.url);
  if (!res.ok) throw new Error(t('data.preset_failed', { status: res.status }));
  $('corpus').value = await res.text();
  $('preset').value = id;
  app.fileName = '';
  setAttribution();
  updateCorpusSize();
}

function tooBig(chars, name) {
  return new Error(t('data.too_big', { name, chars: fmtInt(chars), max: fmtInt(MAX_CORPUS_CHARS) }));
}

/** Puts a text file into the corpus box, refusing files the page cannot handle (the box is unchanged). */
async function loadTextFile(file) {
  if (file.size > MAX_CORPUS_CHARS * 4) { app.showError(tooBig(file.size, file.name)); return; }
  const { text, reason } = decodeText(new Uint8Array(await file.arrayBuffer()));
  if (reason) { app.showError(new Error(t('data.not_text', { name: file.name, why: t(`data.not_text_${reason}`) }))); return; }
  if (text.length > MAX_CORPUS_CHARS) { app.showError(tooBig(text.length, file.name)); return; }
  app.showError(null);
  $('corpus').value = text;
  $('preset').value = 'custom';
  app.fileName = file.name;
  setAttribution();
  updateCorpusSize();
  app.saveSoon();
}

// ---------- results ----------

function noteText(n) {
  const key = `note.${n.code}`;
  return t(key) !== key ? t(key, n.params || {}) : n.message;
}

function renderReport(r, settings) {
  const v = r.validation;
  $('r-model').textContent = describeModel(settings?.model, r.model.description);
  $('r-vocab').textContent = fmtInt(r.data.vocab_size);
  $('r-train').textContent = fmtInt(r.data.train_tokens);
  $('r-m').textContent = fmtInt(v.m);
  $('r-ppl').textContent = fmtPpl(v.perplexity);
  $('r-ppl').dataset.value = String(v.perplexity);
  $('r-ppl-excl').textContent = fmtPpl(v.perplexity_excluding_oov);
  $('r-oov').textContent = `${fmtPct(v.oov_rate)} (${fmtInt(v.oov_tokens)})`;
  $('r-bits').textContent = Number.isFinite(v.bits_per_token) ? v.bits_per_token.toFixed(4) : '∞';
  $('r-bpc').textContent = fmtBits(r.bits_per_char);
  $('results-card').dataset.config = JSON.stringify(settings);
  // Subword tokens: a per-token perplexity is per subword, so the page says what to compare instead.
  const notes = settings?.data?.tokenizer?.kind === 'bpe' ? [...v.notes, { code: 'per-token' }] : v.notes;
  $('notes').replaceChildren(...notes.map((n) => {
    const li = document.createElement('li');
    li.textContent = noteText(n);
    li.dataset.code = n.code;
    return li;
  }));
}

function clearReport() {
  for (const id of ['r-model', 'r-vocab', 'r-train', 'r-m', 'r-ppl', 'r-ppl-excl', 'r-oov', 'r-bits', 'r-bpc']) $(id).textContent = '—';
  $('r-ppl').dataset.value = '';
  $('notes').replaceChildren();
  $('output').replaceChildren();
  $('gen-bytes').hidden = true;
  $('score-out').replaceChildren();
  $('score-ppl').textContent = '';
  delete $('score-ppl').dataset.code;
  $('loss-wrap').hidden = true;
  resetSaturation(app);
}

// ---------- training ----------

function progressText(p) {
  if (p.phase === 'prepared') {
    return t('train.prepared', { tokens: fmtInt(p.stats.train_tokens), vocab: fmtInt(p.stats.vocab_size) });
  }
  const r = trainingRates(p);
  const parts = [];
  if (p.total_steps > 1) parts.push(t('train.step', { step: fmtInt(p.step), total: fmtInt(p.total_steps) }));
  if (r.sps !== null && p.total_steps > 1) parts.push(t('train.steps_per_s', { sps: r.sps.toFixed(1) }));
  if (r.tps !== null) parts.push(t('train.tps', { tps: fmtInt(Math.round(r.tps)) }));
  parts.push(t('train.elapsed', { time: fmtDuration(r.elapsed) }));
  if (r.eta !== null && p.total_steps > 1) parts.push(t('train.eta', { time: fmtDuration(r.eta) }));
  if (p.phase === 'paused') parts.unshift(t('train.paused'));
  return parts.join(' · ');
}

/** Training speed while the tab is visible and while it is hidden, to tell when the browser throttles. */
function trackRate(p) {
  const now = performance.now();
  const r = app.rate;
  if (r.last && p.tokens >= r.last.tokens) {
    const bucket = document.hidden ? r.hidden : r.visible;
    bucket.tokens += p.tokens - r.last.tokens;
    bucket.ms += now - r.last.at;
  }
  r.last = { tokens: p.tokens || 0, at: now };
}

function throttleReport() {
  const { visible, hidden } = app.rate;
  if (hidden.ms < 2000 || visible.ms < 500 || !visible.tokens) return;
  const ratio = (hidden.tokens / hidden.ms) / (visible.tokens / visible.ms);
  $('throttle').hidden = false;
  $('throttle').textContent = ratio < 0.7 ? t('train.throttled', { pct: Math.round(100 * ratio) }) : t('train.not_throttled');
}

/** The memory estimate of a model of family `familyId` (null clears it). */
function renderEstimate(est, familyId) {
  const box = $('memory');
  if (!est) { box.textContent = ''; box.classList.remove('warning'); return; }
  const params = { total: fmtBytes(est.total_bytes), budget: fmtBytes(est.budget_bytes) };
  box.textContent = est.fits
    ? t('memory.estimate', { ...params, params: fmtBytes(est.parameter_bytes), n: fmtInt(est.parameters), grads: fmtBytes(est.gradient_bytes), optim: fmtBytes(est.optimizer_bytes), acts: fmtBytes(est.activation_bytes + est.scratch_bytes) })
    : t(family(familyId).memoryOver ?? (family(familyId).recurrent ? 'memory.over_recurrent' : 'memory.over'), params);
  box.classList.toggle('warning', !est.fits);
}

/** Re-estimates the model's memory while the user turns the knobs (neural families only). */
function estimateSoon() {
  clearTimeout(app.estimateTimer);
  if (!family($('family').value).neural) { renderEstimate(null); return; }
  app.estimateTimer = setTimeout(async () => {
    try {
      const settings = readSettings();
      renderEstimate(await app.worker.call('estimate', { corpus: $('corpus').value, config: JSON.stringify(settings) }), settings.model.family);
    } catch (e) {
      renderEstimate(null); // e.g. an empty corpus: training will say so
      // A setting the core refuses (heads that do not divide the width…) is flagged as it is typed.
      if (e?.code === 'invalid-config') {
        $('memory').textContent = errorText(e);
        $('memory').classList.add('warning');
      }
    }
  }, 300);
}

/**
 * What the "Compute" control will run, in words: before a model exists from the adapter the worker
 * found (the same rule as the core's crate/src/devices.rs), after it from the core's own report.
 */
function renderDevice(report) {
  if (report !== undefined) app.deviceReport = report;
  report = app.deviceReport;
  const choice = $('device').value;
  const a = app.adapter;
  let reason = report?.reason;
  if (!reason) {
    if (choice === 'cpu') reason = 'cpu-chosen';
    else if (choice === 'gpu') reason = a ? 'gpu-chosen' : 'no-gpu';
    else reason = !a ? 'auto-no-gpu' : a.software ? 'auto-software' : 'auto-gpu';
  }
  const adapter = (report?.adapter ?? a)?.name ?? '';
  $('device-status').textContent = t(`device.why.${reason}`, { adapter });
  if (report) {
    app.backend = report.backend === 'gpu' ? `WebGPU · ${adapter}` : `wasm ${app.kernels}`;
    $('backend').textContent = `${app.backend} · v${app.version}`;
  }
}

function onProgress(p) {
  if (p.phase === 'merges') { // BPE learns its merges before the model exists
    $('progress').max = Math.max(1, p.wanted);
    $('progress').value = p.done;
    $('status').textContent = t('train.merges', { done: fmtInt(p.done), wanted: fmtInt(p.wanted) });
    return;
  }
  if (p.phase === 'prepared' && p.device) renderDevice(p.device);
  if (p.phase === 'prepared') {
    renderEstimate(p.estimate, app.state.modelSettings?.family);
    app.lastEstimate = p.estimate;
    app.state.live = Boolean(family(app.state.modelSettings?.family).neural);
    if (typeof p.stoppable === 'boolean') app.state.stoppable = p.stoppable;
    renderViews(app); // a model with live views (a Transformer's attention) shows them while it trains
  }
  if (p.phase !== 'prepared' && p.phase !== 'paused') trackRate(p);
  if (p.phase !== 'prepared' && typeof p.step === 'number') app.state.stepsDone = p.step;
  if (p.phase !== 'prepared' && p.total_steps) {
    $('progress').max = p.total_steps;
    $('progress').value = p.step;
    app.state.pausable = p.total_steps > 1;
  }
  if (p.points?.length) {
    app.curve = appendPoints(app.curve, p.points);
    drawLoss();
    liveUpdate(app);
  }
  app.lastProgress = p;
  app.status = null;
  $('status').textContent = progressText(p);
  const wasPaused = app.state.paused;
  app.state.paused = p.phase === 'paused';
  app.refreshButtons();
  if (app.state.paused !== wasPaused) {
    renderViews(app);
    announce(app.state.paused ? 'announce.paused' : 'announce.training');
  }
}

function drawLoss() {
  if (!app.curve.length) return;
  $('loss-wrap').hidden = false;
  app.lossChart ??= lineChart($('loss-chart'), {
    series: [
      { label: t('chart.train'), color: 'rgba(47, 91, 211, 0.25)' },
      { label: t('chart.train_smooth'), color: '#2f5bd3' },
      { label: t('chart.valid'), color: '#d3542f', dash: [6, 4] },
    ],
    xLabel: t('chart.step'),
    yLabel: t('chart.loss'),
  });
  const train = app.curve.map((c) => c[1]);
  app.lossChart.setData([app.curve.map((c) => c[0]), train, smooth(train), app.curve.map((c) => c[2])]);
}

/**
 * The training flow, for a fresh model (`fresh`: the corpus and settings of the form) and for a model
 * file trained further (`continueTraining`: its own settings, the same loss curve). Both announce,
 * report, and record the run the same way; a stop is announced as a stop in both.
 */
async function runTraining({ fresh }) {
  if (app.state.training || app.state.generating || !app.state.ready) return;
  app.showError(null);
  $('banner').hidden = true;
  $('throttle').hidden = true;
  const corpus = $('corpus').value;
  let settings;
  let request;
  if (fresh) {
    if (corpus.length > MAX_CORPUS_CHARS) { app.showError(tooBig(corpus.length, t('data.corpus'))); return; }
    try {
      settings = readSettings();
    } catch (e) {
      app.showError(e);
      return;
    }
    request = ['train', { corpus, config: JSON.stringify(settings), device: $('device').value }];
  } else {
    // To the form's step count: the file's settings otherwise, with the new Steps.
    const steps = continueTo(app.state);
    if (!steps) return;
    const prev = app.state.settings;
    settings = { ...prev, model: { ...prev.model, train: { ...prev.model.train, steps } } };
    request = ['continueTraining', { steps }];
  }
  // Recurrent models sample their gate saturation as they train (ui/saturation.js).
  request[1].probes = { saturation: Boolean(family(settings.model.family).recurrent) };
  // A fresh neural model is usable (paused) once it is initialised; a continued one already is.
  Object.assign(app.state, { training: true, paused: false, pausable: !fresh, trained: false, live: !fresh, withData: true, modelSettings: settings.model, settings, stoppable: undefined });
  if (fresh) app.state.stepsDone = 0;
  if (fresh) {
    app.state.task = preset($('preset').value)?.task ?? null;
    // What a view was asked (the attention view's text) belongs to the model's data: on another
    // corpus or tokenization it would be [UNK]s, so it is dropped. A page restored or a link opened
    // keeps its own for the first training.
    const data = `${JSON.stringify(settings.data)}\u0000${corpus}`;
    if (app.lastData !== undefined && app.lastData !== data) app.viewState = {};
    app.lastData = data;
  }
  announce('announce.training');
  app.rate = { visible: { tokens: 0, ms: 0 }, hidden: { tokens: 0, ms: 0 }, last: null };
  if (fresh) {
    app.curve = [];
    clearReport();
  }
  renderViews(app);
  app.refreshButtons();
  $('progress').hidden = false;
  if (fresh) {
    $('progress').removeAttribute('value');
    setStatus('train.tokenizing');
  }
  let res;
  try {
    res = await app.worker.call(...request, (type, p) => (type === 'probe' ? onSaturation(app, p) : onProgress(p)));
    Object.assign(app.state, { trained: true, report: res.report });
    renderReport(res.report, settings);
    drawLoss();
    setStatus(res.stopped ? 'train.stopped' : 'train.done', { time: fmtDuration(res.elapsed_ms / 1000) });
    announce(res.stopped ? 'announce.stopped' : 'announce.trained', { ppl: fmtPpl(res.report.validation.perplexity) });
  } catch (e) {
    if (e.code !== 'crashed') app.showError(e);
    // A model file that failed to train further is still the model it was.
    if (!fresh && e.code !== 'crashed') app.state.trained = true;
    setStatus('');
    return;
  } finally {
    Object.assign(app.state, { training: false, paused: false, live: false });
    $('progress').hidden = true;
    app.refreshButtons();
    renderViews(app);
  }
  await recordRun(settings, res, corpus);
}

const train = () => runTraining({ fresh: true });
/** Trains a loaded model further, from where its file stopped (same loss curve). */
const continueTraining = () => runTraining({ fresh: false });

async function recordRun(settings, res, corpus) {
  const presetId = $('preset').value;
  const run = {
    date: Date.now(),
    corpus: preset(presetId) ? { preset: presetId, chars: corpus.length } : { name: app.fileName || '', chars: corpus.length },
    settings,
    report: res.report,
    vocab: res.report.data.vocab_fingerprint,
    curve: app.curve,
    elapsedMs: res.elapsed_ms,
    stopped: res.stopped,
    backend: app.backend,
    saturation: lastSaturation(app),
  };
  // Serialize the model only if it can be kept: a big model would be built and copied for nothing.
  let bytes = null;
  const size = app.lastEstimate ? app.lastEstimate.parameter_bytes + app.lastEstimate.optimizer_bytes : res.report.model.parameters * 12;
  if (size <= store.MODEL_QUOTA_BYTES) {
    try { bytes = await app.worker.call('save'); } catch { /* a model that cannot be saved is listed without weights */ }
  }
  try {
    const { dropped } = await store.addRun(run, bytes);
    forgetRuns(dropped);
    await showNewestRuns(app);
  } catch (e) {
    console.warn('could not store the run', e);
  }
}

async function reset() {
  await app.worker.call('reset');
  Object.assign(app.state, { trained: false, live: false, modelSettings: null, report: null });
  app.curve = [];
  clearReport();
  setStatus('');
  renderViews(app);
  app.refreshButtons();
}

// ---------- formulas ----------

function renderFormulas() {
  const fam = family($('family').value);
  renderTex($('formula'), fam.formula?.(readModel()) || '').catch(() => {});
}

// ---------- share links ----------

function shareState(corpusOverride) {
  const presetId = $('preset').value;
  return {
    corpus: corpusOverride ?? (preset(presetId) ? { preset: presetId } : { text: $('corpus').value }),
    config: readSettings(),
    device: $('device').value,
    sample: { ...readSampling(), prompt: $('prompt').value },
    view: app.activeView,
    // The active view's own settings (e.g. the hidden-state heatmap's text, layer and quantity).
    ...(app.viewState?.[app.activeView] ? { view_state: app.viewState[app.activeView] } : {}),
  };
}

async function linkFor(state) {
  const frag = await encodeState(state);
  return `${location.origin}${location.pathname}#${frag}`;
}

function guessPreset(text) {
  const cjk = (text.slice(0, 5000).match(/[\u3400-\u9fff]/g) || []).length;
  return cjk > 200 ? 'tang300' : 'shakespeare';
}

async function openShare() {
  app.showError(null);
  const dlg = $('share-dialog');
  let url;
  try {
    url = await linkFor(shareState());
  } catch (e) {
    if (e.code !== 'too-big') throw e;
    url = { length: Infinity }; // far over the budget: offer the alternatives below
  }
  $('share-settings').hidden = true;
  $('share-export').hidden = true;
  $('share-copy').hidden = false;
  if (url.length <= LINK_BUDGET) {
    $('share-url').value = url;
    // A preset travels by its name, not its text (lib/share.js).
    const id = $('preset').value;
    $('share-msg').textContent = preset(id) ? t('share.ready_preset', { preset: t(`preset.${id}`), n: fmtInt(url.length) }) : t('share.ready', { n: fmtInt(url.length) });
  } else {
    // The corpus does not fit: offer the settings with a preset, or the model file.
    const fallback = guessPreset($('corpus').value);
    app.fallbackPreset = fallback;
    $('share-url').value = '';
    $('share-copy').hidden = true;
    $('share-msg').textContent = t('share.too_long', { n: Number.isFinite(url.length) ? fmtInt(url.length) : '> 1,000,000', max: fmtInt(LINK_BUDGET), preset: t(`preset.${fallback}`) });
    $('share-settings').hidden = false;
    $('share-export').hidden = !app.state.trained || app.state.modelSettings?.source === 'arpa';
  }
  dlg.showModal();
}

async function copyShare() {
  const url = $('share-url').value;
  try {
    await navigator.clipboard.writeText(url);
  } catch {
    $('share-url').select();
    document.execCommand('copy');
  }
  $('share-msg').textContent = t('share.copied');
}

async function shareWithPreset() {
  const url = await linkFor(shareState({ preset: app.fallbackPreset }));
  $('share-url').value = url;
  $('share-copy').hidden = false;
  $('share-settings').hidden = true;
  $('share-msg').textContent = t('share.with_preset', { preset: t(`preset.${app.fallbackPreset}`), n: fmtInt(url.length) });
}

function showBanner(text, { trainButton = false } = {}) {
  $('banner').hidden = false;
  $('banner-text').textContent = text;
  $('banner-train').hidden = !trainButton;
}

/** Applies a decoded demo state to the page. */
async function applyDemo(state) {
  if (state.corpus.preset) {
    if (!preset(state.corpus.preset)) throw new LinkError('invalid', `unknown preset '${state.corpus.preset}'`);
    await loadPreset(state.corpus.preset);
  } else {
    $('corpus').value = state.corpus.text;
    $('preset').value = 'custom';
    app.fileName = '';
    setAttribution();
    updateCorpusSize();
  }
  if (!FAMILIES.some((f) => f.id === state.config.model.family)) throw new LinkError('invalid', `unknown model family '${state.config.model.family}'`);
  applySettings(state.config);
  if (state.device) { $('device').value = state.device; renderDevice(null); }
  applySampling(state.sample || {});
  if (state.view) app.activeView = state.view;
  if (state.view && state.view_state) app.viewState = { [state.view]: state.view_state };
  renderFormulas();
}

function describeDemo(state) {
  const corpus = state.corpus.preset ? t(`preset.${state.corpus.preset}`) : t('runs.custom', { chars: fmtInt(state.corpus.text.length) });
  return t('share.opened', { corpus, family: t(family(state.config.model.family).label) });
}

// ---------- persistence ----------

async function savePage() {
  const presetId = $('preset').value;
  try {
    await store.saveState({
      preset: presetId,
      corpus: preset(presetId) ? null : $('corpus').value,
      fileName: app.fileName || '',
      settings: readSettings(),
      device: $('device').value,
      sample: { ...readSampling(), prompt: $('prompt').value },
      view: app.activeView,
      views: app.viewState || {},
      // Measurements that took a while: the cost lesson's and the encodings comparison's (not the model).
      results: {
        cost: app.cost?.results ?? null,
        compare: app.compare ? { steps: app.compare.steps, runs: app.compare.runs } : null,
      },
      scoreText: $('score-text').value,
    });
    // Lets tests (and curious users) see that the state is on disk.
    document.body.dataset.saves = String(Number(document.body.dataset.saves || 0) + 1);
  } catch (e) {
    console.warn('could not save the page state', e);
  }
}

async function restorePage() {
  let s = null;
  try { s = await store.loadState(); } catch { return false; }
  if (!s) return false;
  if (preset(s.preset)) await loadPreset(s.preset);
  else {
    $('corpus').value = s.corpus || '';
    $('preset').value = 'custom';
    app.fileName = s.fileName || '';
    setAttribution();
    updateCorpusSize();
  }
  applySettings(s.settings || {});
  if (DEVICES.includes(s.device)) $('device').value = s.device;
  applySampling(s.sample || {});
  if (s.view) app.activeView = s.view;
  app.viewState = cleanViewStates(s.views);
  const cost = cleanCost(s.results?.cost);
  if (cost) app.cost = { results: cost };
  const compare = cleanComparison(s.results?.compare, POSITIONAL);
  if (compare) app.compare = { ...compare, running: false, redraw: () => {} };
  if (s.scoreText) $('score-text').value = s.scoreText;
  return true;
}

/** Restores a model file (from a download, a drop, or a saved run) into the worker. */
app.openModel = async (bytes, name, { keepForm = false, status = 'files.loaded' } = {}) => {
  if (app.state.training || app.state.generating) throw new Error(t('error.busy'));
  const info = await app.worker.call('load', { bytes, corpus: $('corpus').value, device: $('device').value });
  if (info.device) renderDevice(info.device);
  const settings = JSON.parse(info.config);
  // A model file puts its settings in the form; a reload keeps the form the page saved.
  if (!keepForm) {
    applySettings(settings);
    renderFormulas();
  }
  const modelSettings = info.withCorpus ? settings.model : { ...settings.model, source: 'file-alone' };
  app.curve = fromHistory(info.history);
  const lastStep = app.curve.length ? app.curve[app.curve.length - 1][0] : 0;
  Object.assign(app.state, { trained: true, modelSettings, settings, report: info.report, withData: Boolean(info.withCorpus), stepsDone: lastStep, task: preset($('preset').value)?.task ?? null });
  clearReport();
  renderReport(info.report, settings);
  drawLoss();
  renderViews(app);
  app.refreshButtons();
  setStatus(status, { name, model: describeModel(modelSettings, info.report.model.description) });
};

/**
 * Back where the user was: the model of the latest run, from the runs store (kept there within its
 * quota), with the page's corpus (so it trains on and validates as before; another corpus gives the
 * model alone). Nothing kept, nothing restored. Returns whether a model is back.
 */
async function restoreLatestModel() {
  try {
    const [r] = (await store.runsPage(0, 1)).runs;
    const bytes = r?.modelStored ? await store.getModel(r.id) : null;
    if (!bytes) return false;
    await app.openModel(bytes, `#${r.id}`, { keepForm: true, status: 'runs.reloaded' });
    return true;
  } catch (e) {
    console.warn('the latest run\'s model could not be restored', e);
    return false;
  }
}

/** The worker crashed (a bug in the core): it has been replaced; the page starts over, keeping its inputs. */
function onCrash(err) {
  Object.assign(app.state, { training: false, paused: false, generating: false, trained: false, live: false, withData: false, report: null, ready: false });
  $('progress').hidden = true;
  clearReport();
  renderViews(app);
  app.showError(err);
  app.refreshButtons();
  app.worker.ready.then(() => { app.state.ready = true; app.refreshButtons(); }, () => {});
}

/** Reads an ARPA file as the model; the text in the corpus box is what it scores. */
app.openArpa = async (text, name) => {
  if (app.state.training || app.state.generating) throw new Error(t('error.busy'));
  const settings = readSettings();
  settings.model = { family: 'ngram' };
  const info = await app.worker.call('loadArpa', { text, config: JSON.stringify(settings), valid: $('corpus').value });
  const config = JSON.parse(info.config);
  if ($('family').value !== 'ngram') buildForm('ngram');
  $('p-order').value = config.model.order;
  const modelSettings = { ...config.model, source: 'arpa' };
  Object.assign(app.state, { trained: true, modelSettings, settings: { ...config, model: modelSettings }, report: info.report, task: preset($('preset').value)?.task ?? null });
  app.curve = [];
  clearReport();
  renderReport(info.report, config);
  renderViews(app);
  app.refreshButtons();
  setStatus('files.loaded_arpa', { name, model: describeModel(modelSettings, info.report.model.description) });
};

app.loadRunModel = async (r) => {
  app.showError(null);
  try {
    const bytes = await store.getModel(r.id);
    if (!bytes) throw new Error(t('runs.no_model'));
    await app.openModel(bytes, `#${r.id}`);
  } catch (e) {
    app.showError(e);
  }
};

app.restoreRun = async (r) => {
  if (r.corpus?.preset && preset(r.corpus.preset) && $('preset').value !== r.corpus.preset) await loadPreset(r.corpus.preset);
  applySettings(r.settings);
  renderFormulas();
  app.saveSoon();
  setStatus('runs.restored', { n: r.id });
};

// ---------- wiring ----------

function wire() {
  // The first edit of a demo makes it the user's page, saved from then on.
  for (const ev of ['input', 'change']) {
    document.querySelector('main').addEventListener(ev, (e) => {
      if (app.demo && e.isTrusted) { app.demo = false; app.saveSoon(); }
    }, true);
  }
  $('preset').addEventListener('change', (e) => {
    if (e.target.value === 'custom') { setAttribution(); app.saveSoon(); return; }
    loadPreset(e.target.value).then(() => app.saveSoon(), (err) => app.showError(err));
  });
  $('corpus').addEventListener('input', () => {
    if ($('preset').value !== 'custom') { $('preset').value = 'custom'; app.fileName = ''; setAttribution(); }
    updateCorpusSize();
    app.saveSoon();
  });
  $('file').addEventListener('change', (e) => { if (e.target.files[0]) loadTextFile(e.target.files[0]).catch((err) => app.showError(err)); e.target.value = ''; });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (!f) return;
    if (/\.(safetensors|arpa)$/i.test(f.name)) openModelFile(app, f);
    else loadTextFile(f).catch((err) => app.showError(err));
  });
  $('family').addEventListener('change', (e) => { switchFamily(e.target.value); renderFormulas(); estimateSoon(); app.saveSoon(); });
  $('model-params').addEventListener('change', () => { updateVisibility(); renderFormulas(); estimateSoon(); app.saveSoon(); });
  $('tokenizer').addEventListener('change', showTokenizerKnobs);
  showTokenizerKnobs(); // also where the browser restored the form itself
  for (const id of ['tokenizer', 'lowercase', 'boundary', 'min-count', 'max-vocab', 'bpe-vocab', 'valid-pct', 'split', 'seed']) $(id).addEventListener('change', estimateSoon);
  $('device').addEventListener('change', () => { renderDevice(null); app.saveSoon(); });
  document.addEventListener('langchange', () => renderDevice());
  for (const id of ['tokenizer', 'lowercase', 'boundary', 'min-count', 'max-vocab', 'bpe-vocab', 'valid-pct', 'split', 'seed', 'prompt', 'length', 'temperature', 'top-k', 'top-p', 'greedy', 'gen-seed', 'score-text']) {
    $(id).addEventListener('change', () => app.saveSoon());
  }
  $('prompt').addEventListener('input', () => { app.lastPrompt = $('prompt').value; });
  $('new-seed').addEventListener('click', async () => { $('seed').value = await app.worker.call('freshSeed'); app.saveSoon(); });
  $('train').addEventListener('click', train);
  $('pause').addEventListener('click', () => app.worker.send('pause'));
  $('resume').addEventListener('click', () => { app.worker.send('resume'); app.state.paused = false; app.refreshButtons(); });
  $('stop').addEventListener('click', () => { app.worker.send('stop'); app.state.paused = false; });
  $('reset').addEventListener('click', () => reset().catch((e) => app.showError(e)));
  $('continue').addEventListener('click', continueTraining);
  // Raising Steps offers Continue again (and the form's rebuild for another family hides it).
  for (const ev of ['input', 'change']) $('model-card').addEventListener(ev, () => app.refreshButtons());
  app.worker.onCrash = onCrash;
  $('lang').addEventListener('click', () => setLang(getLang() === 'en' ? 'zh' : 'en'));
  $('share').addEventListener('click', () => openShare().catch((e) => app.showError(e)));
  $('share-copy').addEventListener('click', copyShare);
  $('share-settings').addEventListener('click', () => shareWithPreset().catch((e) => app.showError(e)));
  $('share-export').addEventListener('click', () => { $('share-dialog').close(); app.exportModel?.(); });
  $('share-close').addEventListener('click', () => $('share-dialog').close());
  $('banner-close').addEventListener('click', () => { $('banner').hidden = true; });
  $('banner-train').addEventListener('click', () => { $('banner').hidden = true; train(); });
  document.addEventListener('visibilitychange', () => {
    if (!app.state.training) return;
    if (document.hidden) {
      $('throttle').hidden = false;
      $('throttle').textContent = t('train.background');
    } else throttleReport();
  });
  document.addEventListener('langchange', () => {
    app.refreshButtons();
    app.lossChart?.destroy(); // axis labels are set when a chart is made
    app.lossChart = null;
    drawLoss();
    $('lang').textContent = getLang() === 'en' ? '中文' : 'English';
    updateCorpusSize();
    setAttribution();
    renderPplFormula();
    if (app.state.report) renderReport(app.state.report, JSON.parse($('results-card').dataset.config));
    if (app.status) setStatus(app.status.key, app.status.params);
    else if (app.lastProgress && app.state.training) $('status').textContent = progressText(app.lastProgress);
  });
}

function renderPplFormula() { renderTex($('ppl-formula'), FORMULAS.perplexity).catch(() => {}); }

/** Opens a demo link if there is one; else restores the saved page, else the default preset. */
async function initialContent() {
  let autoTrain = false;
  let fromLink = false;
  try {
    const demo = await decodeHash(location.hash);
    if (demo) {
      await applyDemo(demo.state);
      fromLink = true;
      autoTrain = demo.train;
      // View choices that did not check are left out: the rest of the demo opens, and the banner says so.
      const dropped = demo.dropped ? ` ${t('share.view_dropped', { field: demo.dropped.field })}` : '';
      showBanner(describeDemo(demo.state) + dropped, { trainButton: !autoTrain });
      app.demo = true;
    }
  } catch (e) {
    // A broken link: say so, and show the page as it would be without it.
    showBanner(t('share.broken', { reason: e.code ? t(`share.reason.${e.code}`) : e.message }));
    $('banner').classList.add('bad');
  }
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  if (!fromLink) app.restoredPage = await restorePage();
  if (!fromLink && !app.restoredPage) {
    app.freshSeedWanted = true;
    await loadPreset('shakespeare');
  }
  return autoTrain;
}

async function main() {
  setLang(detectLang(), { remember: false });
  $('lang').textContent = getLang() === 'en' ? '中文' : 'English';
  buildForm('ngram');
  wire();
  setupGenerate(app);
  setupViews(app);
  setupRuns(app);
  setupFiles(app);
  setupSaturation(app);
  besideHeading($('loss-wrap').querySelector('h3'), modelChartPng(app, { title: () => t('results.loss'), chart: 'loss', get: () => app.lossChart, onError: (e) => app.showError(e) }));
  app.refreshButtons();
  renderViews(app);
  setStatus('status.loading');
  try {
    // The worker compiles the wasm while the page restores its content.
    const [info, autoTrain] = await Promise.all([app.worker.ready, initialContent()]);
    // A reload brings the latest run's model back (before Train is enabled: loading replaces the
    // worker's model).
    const restored = app.restoredPage && (await restoreLatestModel());
    app.state.ready = true;
    app.refreshButtons();
    Object.assign(app, { kernels: info.kernels, version: info.version });
    app.backend = `wasm ${info.kernels}`;
    $('backend').textContent = `${app.backend} · v${info.version}`;
    // The WebGPU adapter (if any) for the "Compute" control's words; asked once, never blocking.
    app.worker.call('adapter').then((a) => { app.adapter = a; renderDevice(null); }, () => renderDevice(null));
    if (app.freshSeedWanted) $('seed').value = await app.worker.call('freshSeed');
    // Formulas (KaTeX) are not needed to start: draw them when the page is idle.
    (window.requestIdleCallback || setTimeout)(() => { renderFormulas(); renderPplFormula(); });
    estimateSoon();
    renderViews(app);
    refreshRuns(app).catch((e) => console.warn('runs', e));
    if (!restored) setStatus('status.ready');
    document.body.dataset.ready = 'true';
    if (autoTrain) await train();
  } catch (e) {
    app.showError(e);
    setStatus('');
    document.body.dataset.ready = 'true';
  }
}

main();
