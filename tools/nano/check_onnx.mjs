// Checks the exported package from Node, the way the engine will use it:
// tokenizer.json through @huggingface/tokenizers, greedy KV-cache decoding through onnxruntime-node
// (compared with test/fixtures/nano-parity.json), and the codecs (compared with tools/nano/work/codec_check.json).
// Usage: node tools/nano/check_onnx.mjs   (NANO_OUT / NANO_FIXTURES check a package exported elsewhere, as export.py)
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';

const dir = process.env.NANO_OUT ?? 'models/anygpt-nano';
const man = JSON.parse(fs.readFileSync(`${dir}/anygpt.json`, 'utf8'));
const tok = new Tokenizer(JSON.parse(fs.readFileSync(`${dir}/tokenizer.json`, 'utf8')), {});
const fixture = JSON.parse(fs.readFileSync(`${process.env.NANO_FIXTURES ?? 'test/fixtures'}/nano-parity.json`, 'utf8'));
const id = (t) => tok.encode(t).ids[0];
const opts = { intraOpNumThreads: 1 };
let failures = 0;

const llm = await ort.InferenceSession.create(`${dir}/${man.llm.graph.path}`, opts);
const { numLayers: L, numKvHeads: H, headDim: D } = man.llm;
const i64 = (a, dims) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);

async function greedy(ids, maxNew, stop) {
  let past = {};
  for (let i = 0; i < L; i++)
    for (const n of ['key', 'value'])
      past[`past_key_values.${i}.${n}`] = new ort.Tensor('float32', new Float32Array(0), [1, H, 0, D]);
  const out = [];
  let x = ids,
    n = ids.length;
  const t0 = performance.now();
  for (let s = 0; s < maxNew; s++) {
    const feeds = { input_ids: i64(x, [1, x.length]), attention_mask: i64(Array(n).fill(1), [1, n]), ...past };
    if (llm.inputNames.includes('position_ids'))
      feeds.position_ids = i64(
        x.map((_, j) => n - x.length + j),
        [1, x.length],
      );
    const r = await llm.run(feeds);
    const V = r.logits.dims[2],
      last = r.logits.data.subarray(r.logits.data.length - V); // [1,S,V] or last-token [1,1,V]
    let best = 0;
    for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
    out.push(best);
    if (stop.has(best)) break;
    past = {};
    for (let i = 0; i < L; i++)
      for (const k of ['key', 'value']) past[`past_key_values.${i}.${k}`] = r[`present.${i}.${k}`];
    x = [best];
    n += 1;
  }
  return { out, ms: (performance.now() - t0) / out.length };
}

const stop = new Set(['</s>', '<eos>', '<eom>'].map(id));
for (const c of fixture.cases) {
  const ids = [id('<s>'), ...tok.encode(c.prompt).ids];
  const idsOk = JSON.stringify(ids) === JSON.stringify(c.promptIds);
  const { out, ms } = await greedy(ids, 80, stop);
  const genOk = JSON.stringify(out) === JSON.stringify(c.generatedIds);
  if (!idsOk || !genOk) failures++;
  console.log(
    `${c.task.padEnd(8)} prompt ids ${idsOk ? 'match' : 'DIFFER'}, greedy ${genOk ? 'match' : 'DIFFER'} (${out.length} tokens, ${ms.toFixed(2)} ms/token): ${tok.decode(out).slice(0, 90)}`,
  );
}

const checkPath = `${process.env.NANO_WORK ?? 'tools/nano/work'}/codec_check.json`;
if (fs.existsSync(checkPath)) {
  const ck = JSON.parse(fs.readFileSync(checkPath, 'utf8'));
  for (const [name, c] of Object.entries(ck)) {
    const s = await ort.InferenceSession.create(`${dir}/${name}.onnx`, opts);
    const tensor = (x) =>
      x.dtype === 'int64' ? i64(x.input, x.dims) : new ort.Tensor('float32', Float32Array.from(x.input), x.dims);
    // one input (`input`, `dims`, `dtype`) or several by name (`inputs`: { name: { input, dims, dtype } })
    const feeds = c.inputs
      ? Object.fromEntries(Object.entries(c.inputs).map(([n, x]) => [n, tensor(x)]))
      : { [s.inputNames[0]]: tensor(c) };
    const t0 = performance.now();
    const r = await s.run(feeds);
    const ms = performance.now() - t0;
    const got = Array.from(r[s.outputNames[0]].data, Number);
    const close = (v, i) =>
      c.tolerance === undefined ? v === c.expected[i] : Math.abs(v - c.expected[i]) <= c.tolerance;
    const agree = got.filter(close).length / c.expected.length;
    const ok = got.length === c.expected.length && agree >= (c.minAgree ?? 1);
    if (!ok) failures++;
    console.log(
      `${name.padEnd(16)} dims ${JSON.stringify(r[s.outputNames[0]].dims)} agreement ${(100 * agree).toFixed(1)}% ${ok ? 'ok' : 'FAIL'} (${ms.toFixed(1)} ms)`,
    );
  }
}
console.log(failures ? `${failures} FAILED` : 'all ok');
process.exit(failures ? 1 : 0);
