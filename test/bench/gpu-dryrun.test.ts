/**
 * The GPU bench's plumbing, run the only way this machine can: `--gpu-shape small` on CPU. It makes a random-weight
 * LLaMA checkpoint with tools/convert, converts it, and generates greedily with our engine (bound KV cache) and
 * with PyTorch on the same checkpoint: both sides must run and agree on every token. Needs /usr/bin/python3 with
 * torch (installed by tools/setup-system.sh).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { benchGpu } from '../../bench/gpu';

const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;

describe('bench gpu --gpu-shape small (CPU dry run)', function () {
  this.timeout(10 * 60 * 1000);

  it('runs our engine and PyTorch on the same checkpoint; both greedy sequences agree; the bound is computed', async function () {
    if (!hasTorch) this.skip();
    const r = await benchGpu(['--gpu', '--gpu-shape', 'small', '--ctx', '64', '--tokens', '8']);
    assert.equal(r.skipped, undefined);
    const [dense, int4] = r.rows!;
    for (const row of [dense, int4]) {
      assert.equal(row.error, undefined, row.error);
      assert.equal(row.ours!.kvCache, 'bound');
      assert.ok(row.ours!.decodeTokPerS > 0 && row.boundTokPerS! > 0);
    }
    assert.match(dense.torch!.impl, /transformers .* generate|reference loop/);
    assert.equal(dense.sameLeadingTokens, 8, `ours ${dense.ours!.ids} vs PyTorch ${dense.torch!.ids}`);
    assert.ok(int4.bytesPerToken < dense.bytesPerToken / 3, 'int4 reads a fraction of the dense bytes');
    assert.match(r.table!, /\| int4 \|/);
  });
});
