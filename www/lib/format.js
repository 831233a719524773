// Number formatting for the results panel.
export function fmtInt(n) { return Number(n).toLocaleString('en-US'); }

/** Bits (per character, per token): 4 decimals; '—' where there is no figure (a model loaded without text). */
export function fmtBits(x) {
  if (x === Infinity) return '∞';
  return Number.isFinite(x) ? x.toFixed(4) : '—';
}

export function fmtPpl(x) {
  if (x === Infinity) return '∞';
  if (!Number.isFinite(x)) return '—';
  return x >= 1000 ? x.toFixed(1) : x.toFixed(3);
}

export function fmtPct(x) { return `${(100 * x).toFixed(2)}%`; }

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

/** Seconds as m:ss (or h:mm:ss). */
export function fmtDuration(secs) {
  if (!Number.isFinite(secs)) return '—';
  if (secs < 10) return `${secs.toFixed(2)} s`;
  const s = Math.round(secs);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
