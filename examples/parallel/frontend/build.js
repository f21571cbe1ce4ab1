'use strict';
// Copies src/ to dist/, minifying whitespace, and writes a build manifest (no dependencies).
const fs = require('fs');
const path = require('path');

const minify = (s) => s.split('\n').map((l) => l.trim()).filter(Boolean).join('\n') + '\n';

function build(root = __dirname) {
  const out = path.join(root, 'dist');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out);
  const files = fs.readdirSync(path.join(root, 'src')).sort();
  for (const f of files) {
    fs.writeFileSync(path.join(out, f), minify(fs.readFileSync(path.join(root, 'src', f), 'utf8')));
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ files }) + '\n');
  console.log(`built ${files.length} files`);
}

if (require.main === module) build();
module.exports = { minify, build };
