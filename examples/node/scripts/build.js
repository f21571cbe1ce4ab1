'use strict';
// "Builds" the app: copies src/ to dist/ with a banner. picocolors is a devDependency, so it is
// pruned from the production image.
const fs = require('fs');
const path = require('path');
const pc = require('picocolors');

const root = path.join(__dirname, '..');
const out = path.join(root, 'dist');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out);
for (const f of fs.readdirSync(path.join(root, 'src')).sort()) {
  const src = fs.readFileSync(path.join(root, 'src', f), 'utf8');
  fs.writeFileSync(path.join(out, f), `// built by scripts/build.js\n${src}`);
  console.log(pc.green('built'), `dist/${f}`);
}
