"""The PyTorch side of `npm run bench -- gpu --gpu`: greedy generation of exactly N tokens on a checkpoint folder
(config.json + pytorch_model.bin, LlamaForCausalLM layout), and the device's measured copy bandwidth.

    python3 bench/lib/torch-generate.py --src DIR --ids IDS.json --new N --device cuda|cpu --dtype float16|float32

With transformers installed it times `LlamaForCausalLM.generate` (what a PyTorch user runs); without it (Debian's
torch 1.13 on CPU, used for the bench's small dry run) the plain-torch reference loop in tools/convert/llama_ref.py.
Prints one JSON line: impl, device, prefillMs, decodeTokPerS (the N − 1 tokens after the first), ids, bandwidthGBs.
"""
import argparse, json, os, sys, time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def copy_bandwidth(device, mib=1024, reps=10):
    """Bytes read + written per second by a device-to-device copy: the practical bound of a memory-bound decode."""
    n = mib * (1 << 20) // 4
    a, b = torch.empty(n, device=device), torch.empty(n, device=device)
    b.copy_(a); sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        b.copy_(a)
    sync(device)
    return 2 * n * 4 * reps / (time.perf_counter() - t) / 1e9


def with_transformers(src, ids, n, device, dtype):
    import transformers
    model = transformers.LlamaForCausalLM.from_pretrained(src, torch_dtype=dtype).to(device).eval()
    x = torch.tensor([ids], device=device)
    stamps, out = [], []

    class Stamps:  # generate() calls put() with the prompt, then with each new token (already on the host)
        def put(self, v):
            sync(device)
            stamps.append(time.perf_counter())
            if len(stamps) > 1:
                out.append(int(v.reshape(-1)[-1]))

        def end(self):
            pass

    kw = dict(max_new_tokens=n, min_new_tokens=n, do_sample=False, num_beams=1, use_cache=True, pad_token_id=0)
    with torch.no_grad():
        model.generate(x, attention_mask=torch.ones_like(x), **{**kw, 'max_new_tokens': 4, 'min_new_tokens': 4})  # warm-up
        stamps.clear(); out.clear()
        model.generate(x, attention_mask=torch.ones_like(x), streamer=Stamps(), **kw)
    return f'transformers {transformers.__version__} generate', stamps, out


def with_reference(src, ids, n, device, dtype):
    sys.path.insert(0, os.path.join(ROOT, 'tools', 'convert'))
    import llama_ref
    cfg = json.load(open(os.path.join(src, 'config.json')))
    w = {k: v.to(device=device, dtype=dtype) for k, v in torch.load(os.path.join(src, 'pytorch_model.bin'), map_location='cpu').items()}
    stamps, out = [], []
    x = torch.tensor([ids], device=device)
    llama_ref.forward(w, cfg, x[:, :8])  # warm-up
    sync(device)
    stamps.append(time.perf_counter())
    logits, cache = llama_ref.forward(w, cfg, x)
    for i in range(n):
        t = int(logits[0, -1].argmax())
        sync(device)
        stamps.append(time.perf_counter())
        out.append(t)
        if i + 1 < n:
            logits, cache = llama_ref.forward(w, cfg, torch.tensor([[t]], device=device), cache)
    return f'torch {torch.__version__} reference loop (tools/convert/llama_ref.py; transformers not installed)', stamps, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--src', required=True)
    ap.add_argument('--ids', required=True)
    ap.add_argument('--new', type=int, required=True)
    ap.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    ap.add_argument('--dtype', choices=['float16', 'float32'], default='float16')
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('torch: CUDA is not available')
    ids = json.load(open(a.ids))
    dtype = getattr(torch, a.dtype)
    try:
        import transformers  # noqa: F401
        run = with_transformers
    except ImportError:
        run = with_reference
    impl, stamps, out = run(a.src, ids, a.new, a.device, dtype)
    print(json.dumps({
        'impl': impl,
        'device': torch.cuda.get_device_name(0) if a.device == 'cuda' else 'cpu',
        'prefillMs': (stamps[1] - stamps[0]) * 1000,
        'decodeTokPerS': (len(stamps) - 2) / (stamps[-1] - stamps[1]),
        'ids': out[:16],
        'bandwidthGBs': copy_bandwidth(a.device, 1024 if a.device == 'cuda' else 256),
    }))


if __name__ == '__main__':
    main()
