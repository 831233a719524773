// The generation panel: streamed, tinted output; and the surprisal tint over the user's own text.
import { readSampling } from '../lib/settings.js';
import { tokenSpan, makeExplorable } from './tokens.js';
import { t } from '../lib/i18n.js';
import { fmtPpl } from '../lib/format.js';
import { generative } from './bidirectional.js';

const $ = (id) => document.getElementById(id);

export function setupGenerate(app) {
  makeExplorable($('output'));
  makeExplorable($('score-out'));
  $('generate').addEventListener('click', () => generate(app));
  $('gen-stop').addEventListener('click', () => app.worker.send('stopGeneration'));
  $('score').addEventListener('click', () => score(app));
}

async function generate(app) {
  if (app.state.generating) return;
  app.showError(null);
  app.state.generating = true;
  app.refreshButtons();
  const out = $('output');
  out.replaceChildren();
  $('gen-bytes').hidden = true;
  const prompt = $('prompt').value;
  if (prompt) {
    const span = document.createElement('span');
    span.className = 'prompt';
    span.textContent = prompt;
    out.append(span);
  }
  // Tokens arrive in bursts; append them once per frame.
  let queue = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const frag = document.createDocumentFragment();
    for (const tok of queue) frag.append(tokenSpan(tok));
    queue = [];
    out.append(frag);
    out.scrollTop = out.scrollHeight;
  };
  try {
    const r = await app.worker.call('generate', { prompt, sample: JSON.stringify(readSampling()) }, (_type, tok) => {
      queue.push(tok);
      if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
    });
    flush();
    app.announce('announce.generated', { n: r.tokens });
    // Bytes that make no character (U+FFFD) come from a byte-level model that has not learned UTF-8 yet.
    $('gen-bytes').hidden = !(app.state.settings?.data?.tokenizer?.kind === 'bpe' && out.textContent.includes('\uFFFD'));
  } catch (e) {
    if (e.code !== 'crashed') app.showError(e);
  } finally {
    app.state.generating = false;
    app.refreshButtons();
    app.saveSoon();
  }
}

async function score(app) {
  app.showError(null);
  const text = $('score-text').value;
  const out = $('score-out');
  try {
    const r = await app.worker.call('view', { name: 'surprisal', args: { text } });
    out.replaceChildren(...r.tokens.map(tokenSpan));
    // A bidirectional model's number is not a perplexity: flagged as the report's note is.
    const lm = generative(app.state);
    const line = $('score-ppl');
    line.textContent = t(lm ? 'gen.score_ppl' : 'gen.score_not_lm', { ppl: fmtPpl(r.perplexity), m: r.m }) + (r.truncated ? ` ${t('gen.truncated')}` : '');
    if (lm) delete line.dataset.code;
    else line.dataset.code = 'not-generative';
  } catch (e) {
    app.showError(e);
  }
}
