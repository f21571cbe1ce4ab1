'use strict';
// Renders content/pages.json into dist/*.html (no dependencies).
const fs = require('fs');
const path = require('path');

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function render(page, pages) {
  const nav = pages.map((p) => `<a href="${escape(p.file)}">${escape(p.title)}</a>`).join(' | ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escape(page.title)}</title></head>
<body>
<nav>${nav}</nav>
<h1>${escape(page.title)}</h1>
<p>${escape(page.body)}</p>
</body>
</html>
`;
}

function build(root = __dirname) {
  const pages = JSON.parse(fs.readFileSync(path.join(root, 'content', 'pages.json'), 'utf8'));
  const out = path.join(root, 'dist');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out);
  for (const page of pages) {
    fs.writeFileSync(path.join(out, page.file), render(page, pages));
    console.log(`rendered dist/${page.file}`);
  }
}

if (require.main === module) build();
module.exports = { render, build };
