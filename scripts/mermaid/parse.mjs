// Parses the ```mermaid blocks of the Markdown files given as arguments with Mermaid's
// parser (in jsdom, as Mermaid needs a DOM); prints one line per diagram, exits 1 when one
// does not parse. Run by scripts/check-mermaid.sh.
import { JSDOM } from 'jsdom';
import fs from 'fs';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const f of process.argv.slice(2)) {
  const text = fs.readFileSync(f, 'utf8');
  const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(m => m[1]);
  for (const b of blocks) {
    try {
      const r = await mermaid.parse(b);
      console.log(f, 'ok', r.diagramType, b.split('\n').length, 'lines');
    } catch (e) { failed++; console.log(f, 'FAILED', String(e.message || e).slice(0, 400)); }
  }
}
process.exit(failed ? 1 : 0);
