// Training speed from the worker's progress messages (www/worker.js, trainLoop).

/**
 * Rates and times of a progress message `p`. `p.step`, `p.tokens` and `p.elapsed_ms` count from the
 * model's first step (a model file continued from where it stopped keeps counting); `p.session` holds
 * the steps, tokens and milliseconds of this training alone. Rates and the ETA use the session, so a
 * continued model reports the speed it trains at now; `elapsed` is the model's whole training time.
 * Returns seconds and per-second rates; a rate or ETA that cannot be known yet is null.
 */
export function trainingRates(p) {
  const s = p.session ?? { steps: p.step ?? 0, tokens: p.tokens ?? 0, ms: p.elapsed_ms ?? 0 };
  const secs = (s.ms || 0) / 1000;
  const sps = secs > 0 && s.steps > 0 ? s.steps / secs : null;
  const tps = secs > 0 && s.tokens > 0 ? s.tokens / secs : null;
  const left = (p.total_steps ?? 0) - (p.step ?? 0);
  return {
    elapsed: (p.elapsed_ms || 0) / 1000,
    sps,
    tps,
    eta: sps && left > 0 && !p.done ? left / sps : null,
  };
}
