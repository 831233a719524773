// Number formatting for the results panel.
export function fmtInt(n) { return Number(n).toLocaleString('en-US'); }

export function fmtPpl(x) {
  if (x === Infinity) return '∞';
  if (!Number.isFinite(x)) return '—';
  return x >= 1000 ? x.toFixed(1) : x.toFixed(3);
}

export function fmtPct(x) { return `${(100 * x).toFixed(2)}%`; }

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}
