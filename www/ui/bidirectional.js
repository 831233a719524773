// A bidirectional recurrent model is not a language model (crate/src/nn/models/recurrent.rs,
// `ModelInfo.generative`): it read the token it predicts. The page turns Generate off and says why,
// and explains its collapsing loss under the results (docs/ui.md, "Bidirectional").
import { t } from '../lib/i18n.js';

const $ = (id) => document.getElementById(id);

/**
 * Whether the current model can generate: the core's word once it is trained (the report's model
 * info), its settings while it trains.
 */
export function generative(state) {
  const info = state.trained ? state.report?.model : null;
  if (typeof info?.generative === 'boolean') return info.generative;
  return !state.modelSettings?.bidirectional;
}

/** Shows or hides the explanations; returns whether the model may generate. */
export function showGenerative(state) {
  const ok = generative(state);
  const shown = !ok && Boolean(state.trained || state.live);
  for (const [id, key] of [['bidi-callout', 'bidi.callout'], ['gen-why', 'bidi.no_generate']]) {
    const el = $(id);
    el.hidden = !shown;
    el.textContent = shown ? t(key) : '';
  }
  return ok;
}

/**
 * The flag every probability of a non-generative model carries (the next-token view's, the
 * surprisal of the user's text; the report's note says the same): null for a language model.
 */
export function notGenerativeFlag(state) {
  if (generative(state)) return null;
  const p = document.createElement('p');
  p.className = 'callout';
  p.setAttribute('role', 'note');
  p.dataset.code = 'not-generative';
  p.textContent = t('views.not_generative');
  return p;
}
