// Gate saturation samples (ui/saturation.js): kept in order of step, one per step, thinned past
// MAX_SAMPLES; and turned into chart series, one per layer and gate. No DOM here (unit-tested).

/** Most samples kept; past it every other older sample is dropped (the first and newest stay). */
export const MAX_SAMPLES = 1000;

/**
 * Appends a sample { step, layers: [{ layer, saturation: { gate: share } }] }. A sample at the step
 * of the last one replaces it (the final sample after a stop); one from before it starts over (a new
 * model). Returns the new list.
 */
export function addSample(samples, sample) {
  let out = samples;
  const last = out.at(-1);
  if (last && sample.step < last.step) out = [];
  else if (last && sample.step === last.step) out = out.slice(0, -1);
  out = [...out, sample];
  if (out.length > MAX_SAMPLES) out = [...out.slice(0, -1).filter((_, i) => i % 2 === 0), out.at(-1)];
  return out;
}

/**
 * The chart's series: `keys` [{ layer, gate }] (by layer, then gate name) and `data` [steps, shares
 * per key] (null where a sample lacks the key).
 */
export function saturationSeries(samples) {
  const seen = new Map();
  for (const s of samples) {
    for (const l of s.layers) for (const g of Object.keys(l.saturation || {})) seen.set(`${l.layer}/${g}`, { layer: l.layer, gate: g });
  }
  const keys = [...seen.values()].sort((a, b) => a.layer - b.layer || a.gate.localeCompare(b.gate));
  const data = [samples.map((s) => s.step), ...keys.map((k) => samples.map((s) => s.layers.find((l) => l.layer === k.layer)?.saturation?.[k.gate] ?? null))];
  return { keys, data };
}
