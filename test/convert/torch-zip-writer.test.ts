/**
 * tools/convert/torch_zip_writer.py writes torch.save's zip format one tensor at a time (so a full-size fake fits
 * in RAM). The oracle is torch itself: torch.load must return exactly the tensors, and the same dict saved by
 * torch.save must read back equal through our own checkpoint reader. Needs Debian's /usr/bin/python3 with torch.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const PY = '/usr/bin/python3';

const SCRIPT = String.raw`
import collections, os, struct, sys, zipfile
import numpy as np, torch
sys.path.insert(0, "tools/convert")
import checkpoint, torch_zip_writer as w

out = sys.argv[1]
g = torch.Generator().manual_seed(1)
want = collections.OrderedDict()
want["a.weight"] = torch.randn(5, 7, generator=g)
want["b.half"] = torch.randn(3, 64, generator=g).half()
want["c.bf16"] = torch.randn(4, 4, generator=g).to(torch.bfloat16)
want["d.vector"] = torch.randn(11, generator=g)
want["e.empty"] = torch.zeros(0, 3)
made = []

def spec(k):
    def make():
        made.append(k)  # the writer asks for each tensor only when it writes it, in order
        return want[k].clone()
    return w.TensorSpec(k, want[k].shape, want[k].dtype, make)

path = os.path.join(out, "pytorch_model.bin")
w.write_state_dict(path, [spec(k) for k in want])
assert made == list(want), made
got = torch.load(path)
assert list(got) == list(want), list(got)
for k in want:
    assert got[k].dtype == want[k].dtype and torch.equal(got[k], want[k]), k
ck = checkpoint.Checkpoint(out)
for k in ("a.weight", "b.half", "d.vector"):
    assert np.array_equal(ck.get(k), want[k].numpy()), k
raw = open(path, "rb").read()
zf = zipfile.ZipFile(path)
names = zf.namelist()
assert names[0] == "pytorch_model/data.pkl" and names[-1] == "pytorch_model/version", names
for i in zf.infolist():
    n, e = struct.unpack("<HH", raw[i.header_offset + 26 : i.header_offset + 30])
    assert (i.header_offset + 30 + n + e) % 64 == 0, i.filename
try:
    w.write_state_dict(os.path.join(out, "bad.bin"), [w.TensorSpec("x", (2, 2), torch.float32, lambda: torch.zeros(2, 3))])
    raise SystemExit("a wrong shape was accepted")
except ValueError as e:
    assert "x: make() gave (2, 3)" in str(e), e
print("ok")
`;

describe('convert: torch_zip_writer streams a state_dict in torch.save format (needs python3-torch)', function () {
  this.timeout(120_000);
  let tmp = '';
  before(function () {
    if (spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0) {
      console.log(`      skipped: ${PY} with torch not available`);
      this.skip();
    }
    tmp = mkdtempSync(path.join(tmpdir(), 'anygpt-torchzip-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('torch.load and checkpoint.py read back every tensor; data is 64-byte aligned; make() runs in order', () => {
    const r = spawnSync(PY, ['-c', SCRIPT, tmp], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });

  it('fake_checkpoints.py (streamed) writes the same tensors as torch.save of the whole dict', () => {
    // The values must not change with the writer: small fakes in tests and fixtures stay what they were.
    const r = spawnSync(
      PY,
      [
        '-c',
        String.raw`
import collections, os, sys, torch
sys.path.insert(0, "tools/convert")
import fake_checkpoints as fc
out = sys.argv[1]
fc.make(os.path.join(out, "fake"), small_blocks=True, dtype="float16")
got = torch.load(os.path.join(out, "fake", "pytorch_model.bin"))
# the pre-streaming recipe: the same generator draws in the same order, converted, then torch.save
g = torch.Generator().manual_seed(0)
V, D, I, H, L = len(got["model.embed_tokens.weight"]), 64, 172, 4, 2
lin = lambda o, i: torch.randn(o, i, generator=g) / (i**0.5)
norm = lambda n: 1.0 + 0.1 * torch.randn(n, generator=g)
ref = collections.OrderedDict(embed=torch.randn(V, D, generator=g))
for i in range(L):
    for k, f in (("q", lambda: lin(D, D)), ("k", lambda: lin(D, D)), ("v", lambda: lin(D, D)), ("o", lambda: lin(D, D)),
                 ("gate", lambda: lin(I, D)), ("up", lambda: lin(I, D)), ("down", lambda: lin(D, I)),
                 ("in", lambda: norm(D)), ("post", lambda: norm(D))):
        ref[f"{i}.{k}"] = f()
ref["norm"] = norm(D)
ref["lm_head"] = lin(V, D)
assert len(ref) == len(got)
for (k, a), b in zip(got.items(), ref.values()):
    assert a.dtype == torch.float16 and torch.equal(a, b.half()), k
print("ok")
`,
        tmp,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok');
  });
});
