/**
 * The upstream key manifests (test/fixtures/upstream/manifests, written by tools/convert/oracle/make_fixtures.py
 * from the upstream modules) are what the fake checkpoints are generated from. Checked here: each names its
 * upstream repository and commit; the fake-width manifests have exactly the real-size keys (up to the number of
 * layers) and dtypes; and fakes generated from them load in the converter's strict loaders (needs
 * /usr/bin/python3 with torch; that part is skipped with the reason otherwise).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const DIR = path.join(ROOT, 'test', 'fixtures', 'upstream', 'manifests');
const PY = '/usr/bin/python3';

interface Manifest {
  source: { repo: string; commit: string };
  config: Record<string, unknown>;
  keys: [string, number[], string][];
}
const read = (name: string) => JSON.parse(readFileSync(path.join(DIR, `${name}.json`), 'utf8')) as Manifest;
/** Key set with layer indices folded, so a 2-layer fake compares with the 12-layer original. */
const shapeless = (m: Manifest) =>
  [...new Set(m.keys.map(([k, , dt]) => `${k.replace(/\.layers\.\d+\./, '.layers.N.')} ${dt}`))].sort();

describe('convert: upstream key manifests → fake checkpoints', () => {
  for (const [component, sizes] of [
    ['soundstorm', [1024, 16]],
    ['speechtokenizer', [1024, 16]],
    ['encodec', [2048, 16]],
  ] as const) {
    it(`${component}: the manifests name their upstream commit; fake widths have the real keys`, () => {
      const real = read(component);
      assert.match(real.source.commit, /^[0-9a-f]{40}$/);
      assert.ok(real.source.repo.includes('/'));
      assert.ok(real.keys.length > 50);
      for (const cb of sizes) {
        const fake = read(`${component}.fake-${cb}`);
        assert.equal(fake.source.commit, real.source.commit);
        assert.deepEqual(shapeless(fake), shapeless(real), `${component}.fake-${cb}`);
      }
    });
  }

  it('SoundStorm manifest has the keys the issue found (to_logits.2, EinMix bias [1,1,7,1024], to_out.bias)', () => {
    const keys = new Map(read('soundstorm').keys.map(([k, s]) => [k, s]));
    assert.deepEqual(keys.get('net.to_logits.2.weight'), [7, 1024, 1024]);
    assert.deepEqual(keys.get('net.to_logits.2.bias'), [1, 1, 7, 1024]);
    assert.deepEqual(keys.get('net.conformer.layers.11.attn.fn.to_out.bias'), [1024]);
    assert.ok(!keys.has('net.to_logits.1.weight'));
  });

  it('EnCodec manifest: the facebook/encodec_32khz keys (weight norm as weight_g/_v, 4 codebooks of 2048 × 128, no conv shortcut)', () => {
    const m = read('encodec');
    const keys = new Map(m.keys.map(([k, s]) => [k, s]));
    assert.deepEqual(keys.get('quantizer.layers.3.codebook.embed'), [2048, 128]);
    assert.ok(!keys.has('quantizer.layers.4.codebook.embed'));
    assert.deepEqual(keys.get('encoder.layers.0.conv.weight_v'), [64, 1, 7]);
    assert.deepEqual(keys.get('decoder.layers.1.lstm.weight_hh_l1'), [4096, 1024]);
    assert.ok(![...keys.keys()].some((k) => k.includes('shortcut')));
    const params = m.keys.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
    assert.ok(Math.abs(params * 4 - 236e6) < 1e6, `${params} parameters: model.safetensors is 236 MB`);
  });

  it('SEED manifests (AnyGPT seed2/ Blip2QformerQuantizer, EVA ViT-g): the shapes the converter reads', () => {
    const q = read('seed_quantizer');
    const v = read('eva_vit_g');
    assert.equal(q.source.commit, read('soundstorm').source.commit);
    const qk = new Map(q.keys.map(([k, s]) => [k, s]));
    const vk = new Map(v.keys.map(([k, s]) => [k, s]));
    // cross-attention in every 2nd Q-Former layer (0 … 10), keys from the 1408-wide ViT
    assert.deepEqual(qk.get('Qformer.bert.encoder.layer.10.crossattention.self.key.weight'), [768, 1408]);
    assert.ok(!qk.has('Qformer.bert.encoder.layer.11.crossattention.self.key.weight'));
    assert.deepEqual(qk.get('Qformer.bert.encoder.layer.0.intermediate_query.dense.weight'), [3072, 768]);
    assert.deepEqual(qk.get('quantize.embedding.weight'), [8192, 32]);
    assert.deepEqual(qk.get('query_tokens'), [1, 32, 768]);
    assert.deepEqual(qk.get('ln_vision.weight'), [1408]);
    assert.deepEqual(qk.get('distill_image_proj.weight'), [1024, 1024]);
    assert.deepEqual(qk.get('blocks_image.3.attn.qkv.weight'), [2304, 768]);
    assert.ok(![...qk.keys()].some((k) => k.startsWith('visual_encoder.')));
    // EVA ViT-g: 39 blocks, q and v biases only, 257 positions, no final norm
    assert.deepEqual(vk.get('pos_embed'), [1, 257, 1408]);
    assert.deepEqual(vk.get('blocks.38.attn.qkv.weight'), [4224, 1408]);
    assert.deepEqual(vk.get('blocks.38.attn.q_bias'), [1408]);
    assert.ok(!vk.has('blocks.39.attn.q_bias') && !vk.has('blocks.0.attn.k_bias') && !vk.has('norm.weight'));
    assert.deepEqual(vk.get('blocks.0.mlp.fc1.weight'), [6144, 1408]);
  });

  it('fakes generated from the manifests load in the strict converter loaders; the converter EnCodec defaults equal the upstream config', function () {
    this.timeout(300000);
    const probe = spawnSync(PY, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log(`      skipped: ${PY} with torch + onnx is needed`);
      this.skip();
    }
    const py = `
import os, sys, tempfile, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, "tools/convert")
import fake_media, seanet, soundstorm, fake_from_manifest
real = fake_from_manifest.read_manifest("encodec")["config"]
print(sorted(k for k, v in real.items() if seanet.ENCODEC_32K.get(k) != v))
for small in (True, False):
    d = tempfile.mkdtemp()
    sm = fake_media.make_speech_modules(d, small_blocks=small)
    spt, cfg = seanet.load_spt(os.path.join(sm, "speechtokenizer"))
    net, scfg = soundstorm.load(os.path.join(sm, "soundstorm", "speechtokenizer_soundstorm_mls.pt"))
    print(cfg["codebook_size"], scfg["codebook_size"], scfg["depth"], scfg["dim"])
    m, ecfg = seanet.load_encodec(fake_media.make_encodec(os.path.join(d, "encodec"), 16 if small else 2048))
    print(ecfg["codebook_size"], ecfg["num_filters"], len(m.codebooks))
`;
    const out = execFileSync('nice', ['-n', '10', PY, '-c', py], { cwd: ROOT, encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n'), ['[]', '16 16 2 32', '16 2 4', '1024 1024 2 32', '2048 2 4']);
  });
});
