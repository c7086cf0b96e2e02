// Writes the real LLaMA(-2) base vocabulary and BPE merges that the npm package llama-tokenizer-js ships (a dev
// dependency) as JSON, and optionally encodes strings with it. Used by tools/convert/llama_vocab.py.
//
//   node tools/convert/llama_js_dump.mjs --vocab OUT.json [--encode STRINGS.json --ids OUT_IDS.json]
//
// vocab JSON: {"package": "llama-tokenizer-js@VERSION", "vocab": [piece by id], "merges": ["a b" by rank]}.
// --encode: a JSON array of strings; writes a JSON array of id arrays (BOS and the leading space added, as
// LlamaTokenizer.encode does by default).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import llamaTokenizer from 'llama-tokenizer-js';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const require = createRequire(import.meta.url);
const version = require('llama-tokenizer-js/package.json').version;

const vocabOut = opt('--vocab');
if (vocabOut) {
  const merges = [...llamaTokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  const dump = { package: `llama-tokenizer-js@${version}`, vocab: llamaTokenizer.vocabById, merges };
  writeFileSync(vocabOut, JSON.stringify(dump));
}
const encodeIn = opt('--encode');
if (encodeIn) {
  const strings = JSON.parse(readFileSync(encodeIn, 'utf8'));
  writeFileSync(opt('--ids'), JSON.stringify(strings.map((s) => llamaTokenizer.encode(s))));
}
