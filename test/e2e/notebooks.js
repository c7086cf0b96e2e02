// Writes the E2E workspace: the samples (with their media) plus three notebooks built from sample
// cells: e2e.ipynb (chat + t2i + tts for the UI run), interrupt.ipynb, roundtrip.ipynb.
'use strict';
const { cpSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const [samples, ws] = process.argv.slice(2);
cpSync(samples, ws, { recursive: true, filter: (p) => !p.endsWith('.ts') });
const meta = JSON.parse(readFileSync(join(samples, 't2i.ipynb'), 'utf8')).metadata;
const code = (src) => ({ cell_type: 'code', execution_count: null, id: Math.random().toString(36).slice(2, 10), metadata: {}, outputs: [], source: src });
const md = (src) => ({ cell_type: 'markdown', id: Math.random().toString(36).slice(2, 10), metadata: {}, source: src });
const nb = (cells) => JSON.stringify({ cells, metadata: meta, nbformat: 4, nbformat_minor: 5 }, null, 1) + '\n';
writeFileSync(join(ws, 'e2e.ipynb'), nb([
  md('# AnyGPT in VS Code\nA chat turn, an image and speech, each with its token inspector.'),
  code('%seed 1\nHi! Who are you?'),
  code('%task t2i\n%seed 7\nA red square next to a blue circle.'),
  code('%task tts\n%seed 3\nHello from a notebook.'),
]));
writeFileSync(join(ws, 'interrupt.ipynb'), nb([
  code('%task t2m\n%max_new_tokens 4000\n%seed 5\nA long, slow piano piece.'),
  code('%tokens\nstill here after a restart'),
]));
writeFileSync(join(ws, 'roundtrip.ipynb'), nb([
  code('%task t2i\n%seed 7\nA red square next to a blue circle.'),
  code('%task tts\n%seed 3\nHello from a notebook.'),
]));
