// The page: wires the form to the training worker. All computation happens in the worker.
import { WorkerClient } from './lib/client.js';
import { readSettings, applySettings, showMethodParams, readSampling } from './lib/settings.js';
import { fmtInt, fmtPpl, fmtPct, fmtBytes } from './lib/format.js';

const $ = (id) => document.getElementById(id);

/** Largest corpus the page accepts; bigger ones belong to the CLI. */
export const MAX_CORPUS_CHARS = 32 * 1024 * 1024;

const PRESETS = {
  shakespeare: {
    url: 'www/corpora/shakespeare.txt',
    attribution: 'Shakespeare excerpt from “tiny Shakespeare” (char-rnn, nanoGPT), public domain.',
  },
  tang300: {
    url: 'www/corpora/tang300.txt',
    attribution: '唐诗三百首 from the chinese-poetry project (MIT licence, © 2016 JackeyGao).',
  },
};

const worker = new WorkerClient(new URL('./worker.js', import.meta.url));
const state = { training: false, trained: false, generating: false };

function showError(e) {
  const box = $('error');
  box.hidden = !e;
  box.textContent = e ? (e.message || String(e)) : '';
}

function setStatus(text) { $('status').textContent = text; }

function updateCorpusSize() {
  const n = $('corpus').value.length;
  $('corpus-size').textContent = `${fmtInt(n)} characters`;
}

async function loadPreset(id) {
  const p = PRESETS[id];
  if (!p) { $('attribution').textContent = ''; return; }
  const res = await fetch(p.url);
  if (!res.ok) throw new Error(`could not load the preset corpus (${res.status})`);
  $('corpus').value = await res.text();
  $('attribution').textContent = p.attribution;
  updateCorpusSize();
}

/** Puts a file's text into the corpus box, refusing files the page cannot handle. */
async function loadFile(file) {
  if (!file) return;
  if (file.size > MAX_CORPUS_CHARS * 4) {
    showError(new Error(`${file.name} is ${fmtBytes(file.size)}; the page handles up to ${fmtBytes(MAX_CORPUS_CHARS)}. Use the lmplay CLI for bigger corpora. Your current text is unchanged.`));
    return;
  }
  const text = await file.text();
  if (text.length > MAX_CORPUS_CHARS) {
    showError(new Error(`${file.name} has ${fmtInt(text.length)} characters; the page handles up to ${fmtInt(MAX_CORPUS_CHARS)}. Use the lmplay CLI for bigger corpora. Your current text is unchanged.`));
    return;
  }
  showError(null);
  $('corpus').value = text;
  $('preset').value = 'custom';
  $('attribution').textContent = file.name;
  updateCorpusSize();
}

function renderReport(r, config) {
  const v = r.validation;
  $('r-model').textContent = r.model.description;
  $('r-vocab').textContent = fmtInt(r.data.vocab_size);
  $('r-train').textContent = fmtInt(r.data.train_tokens);
  $('r-m').textContent = fmtInt(v.m);
  $('r-ppl').textContent = fmtPpl(v.perplexity);
  $('r-ppl').dataset.value = String(v.perplexity);
  $('r-ppl-excl').textContent = fmtPpl(v.perplexity_excluding_oov);
  $('r-oov').textContent = `${fmtPct(v.oov_rate)} (${fmtInt(v.oov_tokens)})`;
  $('r-bits').textContent = Number.isFinite(v.bits_per_token) ? v.bits_per_token.toFixed(4) : '∞';
  $('results-card').dataset.config = JSON.stringify(config);
  const notes = $('notes');
  notes.replaceChildren(...v.notes.map((n) => {
    const li = document.createElement('li');
    li.textContent = n.message;
    li.dataset.code = n.code;
    return li;
  }));
}

function setTraining(on) {
  state.training = on;
  $('train').disabled = on;
  $('stop').disabled = !on;
  $('generate').disabled = on || !state.trained;
  $('progress').hidden = !on;
}

async function train() {
  showError(null);
  const corpus = $('corpus').value;
  if (corpus.length > MAX_CORPUS_CHARS) {
    showError(new Error(`The corpus has ${fmtInt(corpus.length)} characters; the page handles up to ${fmtInt(MAX_CORPUS_CHARS)}. Use the lmplay CLI for bigger corpora.`));
    return;
  }
  const config = readSettings();
  setTraining(true);
  $('progress').removeAttribute('value'); // indeterminate until the worker reports
  setStatus('Tokenizing…');
  const t0 = performance.now();
  try {
    const report = await worker.call('train', { corpus, config: JSON.stringify(config) }, (_type, p) => {
      if (p.phase === 'prepared') setStatus(`Counting ${fmtInt(p.stats.train_tokens)} tokens…`);
      else if (p.total_steps) {
        $('progress').max = p.total_steps;
        $('progress').value = p.step;
      }
    });
    state.trained = true;
    renderReport(report, config);
    setStatus(`Trained in ${((performance.now() - t0) / 1000).toFixed(2)} s.`);
  } catch (e) {
    showError(e);
    setStatus('');
  } finally {
    setTraining(false);
  }
}

async function generate() {
  if (state.generating) return;
  showError(null);
  state.generating = true;
  $('generate').disabled = true;
  const out = $('output');
  out.replaceChildren();
  const prompt = $('prompt').value;
  if (prompt) {
    const span = document.createElement('span');
    span.className = 'prompt';
    span.textContent = prompt;
    out.append(span);
  }
  try {
    await worker.call('generate', { prompt, sample: JSON.stringify(readSampling()) }, (_type, tok) => {
      // Always text, never HTML.
      out.append(document.createTextNode(tok.text));
    });
  } catch (e) {
    showError(e);
  } finally {
    state.generating = false;
    $('generate').disabled = state.training || !state.trained;
  }
}

function wire() {
  $('preset').addEventListener('change', (e) => loadPreset(e.target.value).catch(showError));
  $('corpus').addEventListener('input', () => {
    if ($('preset').value !== 'custom') { $('preset').value = 'custom'; $('attribution').textContent = ''; }
    updateCorpusSize();
  });
  $('file').addEventListener('change', (e) => loadFile(e.target.files[0]).catch(showError));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    loadFile(e.dataTransfer.files[0]).catch(showError);
  });
  $('method').addEventListener('change', showMethodParams);
  $('new-seed').addEventListener('click', async () => { $('seed').value = await worker.call('freshSeed'); });
  $('train').addEventListener('click', train);
  $('stop').addEventListener('click', () => worker.send('stop'));
  $('generate').addEventListener('click', generate);
}

async function main() {
  wire();
  showMethodParams();
  setStatus('Loading…');
  try {
    const info = await worker.ready;
    $('backend').textContent = `wasm · v${info.version}`;
    $('seed').value = await worker.call('freshSeed');
    await loadPreset($('preset').value);
    setStatus('Ready.');
    document.body.dataset.ready = 'true';
  } catch (e) {
    showError(e);
    setStatus('');
  }
}

main();
