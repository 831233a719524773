// The views' own choices (`view_state` in share links, `views` in the saved page; docs/conventions.md):
// one shape per view, checked field by field, so a link or a saved page restores a view exactly or
// says which field is wrong. Bounds are the shape's, not the model's: a view clamps a layer or head
// to the model it shows (a saved choice outlives a change of the model's size).

/** A field's check: returns the problem in words, or null. */
const oneOf = (values) => (v) => (values.includes(v) ? null : `must be one of ${values.join(', ')}`);
const int = (min, max, { even = false } = {}) => (v) => (Number.isInteger(v) && v >= min && v <= max && (!even || v % 2 === 0)
  ? null : `must be ${even ? 'an even' : 'a whole'} number from ${min} to ${max}`);
const text = (max) => (v) => (typeof v === 'string' && v.length <= max ? null : `must be a text of at most ${max} characters`);
const word = (v) => (typeof v === 'string' && /^[a-z]{1,8}$/.test(v) ? null : 'must be a short lower-case name');

/** The core reads a view's text only up to the model's context (or 200 tokens): views keep at most this much of it. */
export const MAX_VIEW_TEXT = 10000;
/** The cost lesson's longest sequence lengths (ui/views-cost.js). */
export const COST_MAX_T = [512, 1024, 2048, 4096];

/** Each view's fields: every one optional (a missing field takes the view's default). */
export const VIEW_STATES = {
  'hidden-states': { source: oneOf(['valid', 'output', 'custom']), text: text(MAX_VIEW_TEXT), layer: int(0, 63), show: word },
  attention: { text: text(MAX_VIEW_TEXT), kind: oneOf(['head', 'average', 'rollout']), layer: int(0, 255), head: int(0, 255) },
  positional: { steps: int(1, 100000) },
  merges: { text: text(MAX_VIEW_TEXT), k: int(0, 8192) },
  'attention-cost': { max: oneOf(COST_MAX_T), width: int(2, 512, { even: true }), window: int(1, 4096), stride: int(0, 4096) },
};

export class ViewStateError extends Error {
  constructor(view, field, problem) {
    super(`the ${view} view's ${field} ${problem}`);
    this.view = view;
    this.field = field;
  }
}

/**
 * A clean copy of a view's state (an object of plain values), or throws ViewStateError naming the
 * field. A view without a declared shape keeps its state as it is.
 */
export function checkViewState(view, vs) {
  const shape = Object.hasOwn(VIEW_STATES, view) ? VIEW_STATES[view] : null;
  if (!shape) return vs;
  const out = {};
  for (const [k, v] of Object.entries(vs)) {
    if (!Object.hasOwn(shape, k)) throw new ViewStateError(view, k, 'is not a setting of this view');
    const problem = shape[k](v);
    if (problem) throw new ViewStateError(view, k, problem);
    out[k] = v;
  }
  return out;
}

/** The saved page's views: each view's state that checks, the others dropped (with a warning). */
export function cleanViewStates(views) {
  const out = {};
  if (!views || typeof views !== 'object' || Array.isArray(views)) return out;
  for (const [view, vs] of Object.entries(views)) {
    if (!vs || typeof vs !== 'object' || Array.isArray(vs)) continue;
    try {
      out[view] = checkViewState(view, vs);
    } catch (e) {
      console.warn('dropped a saved view state:', e.message);
    }
  }
  return out;
}

// ---- the measurements two views keep with the saved page (not in links: they would not fit) ----

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const num = (x) => typeof x === 'number' && Number.isFinite(x);
const name = (x) => typeof x === 'string' && /^[a-z][a-z0-9-]{0,23}$/.test(x);

/** The cost lesson's last measurement ({ patterns: [{ pattern, points: [{ t, ms, bytes, scores }] }], args }), or null. */
export function cleanCost(res) {
  if (!isObj(res) || !Array.isArray(res.patterns)) return null;
  const pointOk = (q) => isObj(q) && ['t', 'ms', 'bytes', 'scores'].every((k) => num(q[k]));
  if (!res.patterns.every((p) => isObj(p) && name(p.pattern) && Array.isArray(p.points) && p.points.every(pointOk))) return null;
  const patterns = res.patterns.map((p) => ({ pattern: p.pattern, points: p.points.map(({ t, ms, bytes, scores }) => ({ t, ms, bytes, scores })) }));
  return { patterns, args: isObj(res.args) ? { ...res.args } : {} };
}

/** The encodings comparison's runs ({ steps, runs: [{ positional, points: [[step, loss]], done, error? }] }), or null. */
export function cleanComparison(c, encodings) {
  if (!isObj(c) || !Number.isInteger(c.steps) || !Array.isArray(c.runs)) return null;
  const runOk = (r) => isObj(r) && encodings.includes(r.positional) && Array.isArray(r.points)
    && r.points.every((p) => Array.isArray(p) && p.length === 2 && num(p[0]) && num(p[1]))
    && (r.error === undefined || typeof r.error === 'string');
  if (!c.runs.every(runOk)) return null;
  const runs = c.runs.map((r) => ({ positional: r.positional, points: r.points.map(([s, l]) => [s, l]), done: r.done === true, ...(r.error === undefined ? {} : { error: r.error }) }));
  return { steps: c.steps, runs };
}
