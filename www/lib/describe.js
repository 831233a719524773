// A model's one-line description in the page's language, from its settings (the core's English
// description is the fallback, e.g. for models it alone knows how to describe).
import { t } from './i18n.js';

export function describeModel(m, fallback = '') {
  if (!m) return fallback;
  if (m.family === 'ngram') {
    if (m.source === 'arpa') return t('desc.arpa', { order: m.order });
    let method = t(`method.${m.method}`);
    if (m.method === 'addk') method = m.k === 1 ? t('desc.laplace') : t('desc.addk', { k: m.k });
    return t('desc.ngram', { order: m.order, method });
  }
  if (m.family === 'fixed-window') {
    return t('desc.fixed-window', { n: m.context, d: m.embed, h: m.hidden, f: t(`act.${m.activation}`) });
  }
  if (['rnn', 'lstm', 'gru'].includes(m.family)) {
    const layers = m.layers === 1 ? t('desc.layer_one') : t('desc.layers', { n: m.layers });
    const params = { layers, d: m.embed, h: m.hidden, t: m.bptt };
    if (m.family === 'rnn') params.f = t(`act.${m.activation}`);
    const d = t(`desc.${m.family}`, params);
    return m.bidirectional ? t('desc.bidirectional', { model: d }) : d;
  }
  if (m.family === 'transformer') {
    const layers = m.layers === 1 ? t('desc.layer_one') : t('desc.layers', { n: m.layers });
    const attn = m.attention === 'sparse' ? t('desc.tf_sparse', { w: m.window, s: m.stride }) : t(`attn.${m.attention ?? 'full'}`);
    // The knobs that tell two runs of a pattern or an encoding apart: sparse's w and s, relative's k.
    const pos = m.positional === 'relative' ? t('desc.tf_relative', { k: m.rel_clip ?? 16 }) : t(`pos.${m.positional ?? 'learned'}`);
    return t('desc.transformer', { layers, heads: m.heads, d: m.width, t: m.context, pos, attn, norm: t(`norm.${m.norm ?? 'pre'}`) });
  }
  return fallback;
}
