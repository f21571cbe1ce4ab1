'use strict';
const ms = require('ms');

const started = Date.now();

function greeting(name) {
  const who = (name || '').trim() || 'world';
  return `hello, ${who}, from node\n`;
}

function handler(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`ok, up ${ms(Date.now() - started)}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(greeting(url.searchParams.get('name')));
}

module.exports = { greeting, handler };
