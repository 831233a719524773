// The merges view's token names (www/ui/views-bpe.js): what shows, and which names cut a character.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shownToken, cutsCharacter } from '../../www/ui/views-bpe.js';

test('a token name shows its spaces and line breaks', () => {
  assert.equal(shownToken(' the'), '␣the');
  assert.equal(shownToken('\n'), '↵');
  assert.equal(shownToken('中文'), '中文');
});

test('only \\xHH escapes cut a character, not an escaped backslash before x', () => {
  assert.ok(cutsCharacter('\\xE4'));
  assert.ok(cutsCharacter('a\\xE4\\xB8'));
  assert.ok(!cutsCharacter('\\\\xE4'), 'the text \\xE4 (a backslash, escaped) is whole characters');
  assert.ok(cutsCharacter('\\\\\\xE4'), 'an escaped backslash, then a byte');
  assert.ok(!cutsCharacter('ex'));
});
