// A corpus file must be text (issue 19): invalid UTF-8, NUL characters or a high share of control
// characters are refused; text in any script, with tabs, CRLF and a byte-order mark, is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeText } from '../../www/lib/textfile.js';

const utf8 = (s) => new TextEncoder().encode(s);

test('text in English and 中文, with tabs, CRLF, form feeds and a byte-order mark, is read', () => {
  assert.deepEqual(decodeText(utf8('To be, or not to be\tthat\r\n床前明月光，疑是地上霜。\f🙂\n')), { text: 'To be, or not to be\tthat\r\n床前明月光，疑是地上霜。\f🙂\n' });
  assert.deepEqual(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('abc')])), { text: 'abc' });
  assert.deepEqual(decodeText(new Uint8Array()), { text: '' });
});

test('a PNG, a NUL in text and a file of control characters are not text', () => {
  // The first bytes of every PNG: 0x89 is not valid UTF-8 where it stands.
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
  assert.deepEqual(decodeText(png), { reason: 'utf8' });
  assert.deepEqual(decodeText(utf8('plain text\0with a NUL')), { reason: 'nul' });
  const controls = utf8('a'.repeat(90) + '\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e');
  assert.deepEqual(decodeText(controls), { reason: 'control' });
  assert.deepEqual(decodeText(utf8('a'.repeat(50) + '\ufffd'.repeat(5))), { reason: 'control' }, 'replacement characters: decoded lossily once already');
  // One stray control character in a long text is tolerated.
  assert.ok(decodeText(utf8('a'.repeat(500) + '\x07')).text);
});
