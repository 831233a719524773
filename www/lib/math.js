// Formulas, rendered by KaTeX (loaded on first use). KaTeX builds DOM nodes and sets styles through
// the CSSOM, which the page's Content-Security-Policy allows.
let katexPromise = null;

function katex() {
  if (!katexPromise) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = new URL('../vendor/katex/katex.min.css', import.meta.url).href;
    document.head.append(link);
    katexPromise = import('../vendor/katex/katex.mjs').then((m) => m.default);
  }
  return katexPromise;
}

/** Renders TeX into `el` (display mode); an empty `tex` clears it. */
export async function renderTex(el, tex) {
  if (!tex) { el.replaceChildren(); return; }
  const k = await katex();
  k.render(tex, el, { displayMode: true, throwOnError: false, output: 'htmlAndMathml' });
}
