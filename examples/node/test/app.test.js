'use strict';
const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const { greeting, handler } = require('../src/app');

test('greeting defaults to world', () => {
  assert.strictEqual(greeting(''), 'hello, world, from node\n');
  assert.strictEqual(greeting(' ada '), 'hello, ada, from node\n');
});

test('server answers /healthz', async () => {
  const server = http.createServer(handler).listen(0);
  await new Promise((r) => server.once('listening', r));
  const body = await new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${server.address().port}/healthz`, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve(data));
    }).on('error', reject);
  });
  server.close();
  assert.match(body, /^ok, up /);
});

// FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
test('deliberate failure switch', () => {
  assert.notStrictEqual(process.env.FAIL_TEST, '1', 'FAIL_TEST=1: failing on purpose');
});
