// Demo links: the whole demo in the URL fragment, versioned and compressed.
// Format v1 (docs/conventions.md): `#v=1&s=<payload>[&train=1]`, payload = base64url(deflate(UTF-8 JSON)).
// `deflate` is the zlib format, whose Adler-32 checksum also catches tampered payloads.
// Nothing from a link is ever executed or rendered as HTML: it is parsed as JSON and validated here,
// and the core validates the settings again. A view's own choices are checked by their shape
// (lib/viewstate.js); a link whose view choices alone are bad still opens, without them, and says so.
import { checkViewState, ViewStateError } from './viewstate.js';

export const LINK_VERSION = 1;
/** The compute choices a link may carry (the page's "Compute" control; crate/src/devices.rs). */
export const DEVICES = ['auto', 'cpu', 'gpu'];
export const SUPPORTED_VERSIONS = [1];
/** Longest link we hand out (whole URL, characters): Discord's 2,000-character messages, IE/legacy
 *  Edge's 2,083-character URLs; Outlook may break even shorter links (1,024). See docs/conventions.md. */
export const LINK_BUDGET = 2000;
/** Decompressed payloads larger than this are refused (no decompression bombs). */
export const MAX_PAYLOAD_BYTES = 1 << 20;

export class LinkError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code; // 'truncated' (no data) | 'damaged' (cut or changed) | 'version' | 'invalid' | 'view-state' | 'too-big' (encoding)
  }
}

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  const chunks = [];
  let size = 0;
  const reader = out.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_PAYLOAD_BYTES) { await reader.cancel(); throw new LinkError('invalid', 'the link holds more data than a demo can'); }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) { all.set(c, o); o += c.length; }
  return all;
}

export function toBase64Url(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(str) {
  if (!/^[A-Za-z0-9_-]*$/.test(str)) throw new LinkError('damaged', 'the link contains characters a demo link never has');
  const b64 = str.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((str.length + 3) % 4);
  let bin;
  try { bin = atob(b64); } catch { throw new LinkError('damaged', 'the link is cut off or has been changed'); }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The fragment (without '#') for a demo state. */
export async function encodeState(state, { train = false } = {}) {
  const json = new TextEncoder().encode(JSON.stringify(validateState(state)));
  if (json.length > MAX_PAYLOAD_BYTES) throw new LinkError('too-big', 'the demo holds more data than a link can');
  const payload = toBase64Url(await pipe(json, new CompressionStream('deflate')));
  return `v=${LINK_VERSION}&s=${payload}${train ? '&train=1' : ''}`;
}

/**
 * Decodes a location hash. Returns null when it holds no demo, else { state, train, dropped }; throws
 * LinkError. `dropped` is the LinkError ('view-state', with its `field`) of view choices that did not
 * check: the demo opens without them (nothing else of the link is lost).
 */
export async function decodeHash(hash) {
  const frag = String(hash || '').replace(/^#/, '');
  if (!frag) return null;
  const params = new URLSearchParams(frag);
  if (!params.has('v') && !params.has('s')) return null;
  const v = Number(params.get('v'));
  if (!SUPPORTED_VERSIONS.includes(v)) {
    throw new LinkError('version', `the link has format version ${params.get('v') ?? '(none)'}, and this page reads version ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const payload = params.get('s');
  if (!payload) throw new LinkError('truncated', 'the link has no demo data');
  const bytes = fromBase64Url(payload);
  let json;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(await pipe(bytes, new DecompressionStream('deflate')));
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError('damaged', 'the link is cut off or has been changed');
  }
  let obj;
  try { obj = JSON.parse(json); } catch { throw new LinkError('damaged', 'the link data is not readable'); }
  const train = params.get('train') === '1';
  try {
    return { state: validateState(obj), train, dropped: null };
  } catch (e) {
    if (e.code !== 'view-state') throw e;
    const { view_state: _, ...rest } = obj;
    return { state: validateState(rest), train, dropped: e };
  }
}

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

/** Checks a demo state's shape; returns a clean copy holding only known fields of plain types. */
export function validateState(s) {
  const bad = (what) => { throw new LinkError('invalid', `the link's ${what} is not valid`); };
  if (!isObj(s)) bad('data');
  const out = {};
  if (!isObj(s.corpus)) bad('corpus');
  if (typeof s.corpus.preset === 'string') {
    if (!/^[a-z0-9-]{1,40}$/.test(s.corpus.preset)) bad('preset');
    out.corpus = { preset: s.corpus.preset };
  } else if (typeof s.corpus.text === 'string') {
    out.corpus = { text: s.corpus.text };
  } else bad('corpus');
  if (!isObj(s.config)) bad('settings');
  out.config = plain(s.config, 4) ?? bad('settings');
  if (!isObj(out.config.model) || typeof out.config.model.family !== 'string') bad('model');
  if (s.device !== undefined) {
    if (!DEVICES.includes(s.device)) bad('compute device');
    out.device = s.device;
  }
  if (s.sample !== undefined) out.sample = isObj(s.sample) ? plain(s.sample, 1) ?? bad('generation settings') : bad('generation settings');
  if (s.view !== undefined) {
    if (typeof s.view !== 'string' || !/^[a-z0-9-]{1,40}$/.test(s.view)) bad('view');
    out.view = s.view;
  }
  if (s.view_state !== undefined) {
    const vs = isObj(s.view_state) ? plain(s.view_state, 0) ?? bad('view') : bad('view');
    try {
      out.view_state = checkViewState(out.view, vs);
    } catch (e) {
      if (!(e instanceof ViewStateError)) throw e;
      throw Object.assign(new LinkError('view-state', `the link's choices for its view are not valid: ${e.message}`), { field: e.field });
    }
  }
  return out;
}

/** Keys that would reach an object's prototype when assigned. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A deep copy of JSON made only of objects, arrays, strings, finite numbers and booleans. */
function plain(x, depth) {
  if (typeof x === 'string') return x.length <= 10000 ? x : undefined;
  if (typeof x === 'boolean') return x;
  if (typeof x === 'number') return Number.isFinite(x) ? x : undefined;
  if (depth < 0) return undefined;
  if (Array.isArray(x)) {
    const a = x.map((v) => plain(v, depth - 1));
    return a.includes(undefined) || a.length > 64 ? undefined : a;
  }
  if (isObj(x)) {
    const o = {};
    for (const [k, v] of Object.entries(x)) {
      if (!/^[a-z_][a-z0-9_]{0,40}$/.test(k) || FORBIDDEN_KEYS.has(k)) return undefined;
      const c = plain(v, depth - 1);
      if (c === undefined) return undefined;
      o[k] = c;
    }
    return o;
  }
  return undefined;
}
