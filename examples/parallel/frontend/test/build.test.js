'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { minify } = require('../build');

test('minify drops blank lines and indentation', () => {
  assert.strictEqual(minify('  a\n\n   b  \n'), 'a\nb\n');
});

test('deliberate failure switch', () => {
  assert.notStrictEqual(process.env.FAIL_TEST, '1', 'FAIL_TEST=1: failing on purpose');
});
