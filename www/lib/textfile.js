// A corpus file must be text: the page reads UTF-8, and a binary file (an image, an archive) decoded
// leniently would become thousands of replacement and NUL characters that train without a word of
// complaint. The CLI refuses invalid UTF-8 the same way (crate/src/text).

/** Most control and replacement (U+FFFD) characters a text may hold, as a share of its characters
 * (tab, newlines and form feed aside). */
export const MAX_CONTROL_SHARE = 0.01;

/**
 * Decodes a file's bytes as UTF-8 text (a byte-order mark is dropped). Returns `{ text }`, or
 * `{ reason }` when the bytes are not text: `utf8` (not valid UTF-8), `nul` (a NUL character) or
 * `control` (more than MAX_CONTROL_SHARE control or replacement characters: a file decoded
 * lossily once already).
 */
export function decodeText(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { reason: 'utf8' };
  }
  if (text.includes('\0')) return { reason: 'nul' };
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 12 && c !== 13) || (c >= 0x7f && c < 0xa0) || c === 0xfffd) control++;
  }
  if (control > MAX_CONTROL_SHARE * text.length) return { reason: 'control' };
  return { text };
}
