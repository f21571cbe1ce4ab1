'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { render } = require('../build');

test('renders the title and escapes html', () => {
  const page = { file: 'x.html', title: 'A <b> & C', body: 'hi' };
  const html = render(page, [page]);
  assert.match(html, /<h1>A &lt;b&gt; &amp; C<\/h1>/);
  assert.match(html, /<a href="x.html">/);
});

// FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
test('deliberate failure switch', () => {
  assert.notStrictEqual(process.env.FAIL_TEST, '1', 'FAIL_TEST=1: failing on purpose');
});
