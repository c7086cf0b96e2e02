#!/usr/bin/python3
"""Fake media checkpoints in the upstream formats (file names, key names, dtypes; random values, small dims),
beside a fake LLM checkpoint from fake_checkpoints.py:

    /usr/bin/python3 tools/convert/fake_media.py --out /tmp/anygpt-media [--small-blocks]

writes
  AnyGPT-speech-modules/speechtokenizer/{config.json,ckpt.dev}             (seanet.py)
  AnyGPT-speech-modules/soundstorm/speechtokenizer_soundstorm_mls.pt       (soundstorm.py)
  encodec_32khz/{config.json,preprocessor_config.json,model.safetensors}   (seanet.py)
  seed-tokenizer-2/seed_quantizer.pt                                       (seed_decoder.py)
  stable-diffusion-2-1-unclip/{unet,vae,image_normalizer,scheduler,image_noising_scheduler}/…, text_embedding.f32
  seed_encoder_standin.onnx   a TEST STAND-IN for the SEED encoder (pooled pixels → nearest of random
                              codes): pixel_values [1,3,224,224] → codes [1,32]. It is not the SEED encoder;
                              the converter does not export that one (docs/real-model.md).
Codebook sizes follow the vocabulary blocks: full upstream layout (image 8192, speech 1024, music 4×2048) or,
with --small-blocks, fake_checkpoints.SMALL_BLOCKS (image 32, speech 16, music 4×16).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_checkpoints  # noqa: E402
import seanet  # noqa: E402
import seed_decoder  # noqa: E402
import soundstorm  # noqa: E402
import unclip  # noqa: E402


class _StandIn(torch.nn.Module):
    def __init__(self, n_codes, tokens=32):
        super().__init__()
        g = torch.Generator().manual_seed(11)
        self.proj = torch.nn.Parameter(torch.randn(3, n_codes, generator=g))
        self.tokens = tokens

    def forward(self, pixel_values):
        x = torch.nn.functional.adaptive_avg_pool2d(pixel_values, (4, self.tokens // 4))  # [1,3,4,8]
        x = x.flatten(2).transpose(1, 2)  # [1,32,3]
        return (x @ self.proj).argmax(-1)


def make(out, small_blocks=False, seed=0, text_dim=16, embed_dim=32):
    blocks = fake_checkpoints.SMALL_BLOCKS if small_blocks else {'image': 8192, 'speech': 1024, 'music': 8192}
    sm = os.path.join(out, 'AnyGPT-speech-modules')
    seanet.make_fake_spt(os.path.join(sm, 'speechtokenizer'), seed=seed + 1, n_filters=2, dimension=16,
                         semantic_dimension=8, codebook_size=blocks['speech'])
    os.makedirs(os.path.join(sm, 'soundstorm'), exist_ok=True)
    soundstorm.make_fake(os.path.join(sm, 'soundstorm', 'speechtokenizer_soundstorm_mls.pt'), seed=seed + 2, dim=32,
                         depth=2, heads=8, dim_head=8, codebook_size=blocks['speech'], semantic_ids=blocks['speech'])
    seanet.make_fake_encodec(os.path.join(out, 'encodec_32khz'), seed=seed + 3, num_filters=2, hidden_size=8,
                             codebook_dim=8, codebook_size=blocks['music'] // 4)
    os.makedirs(os.path.join(out, 'seed-tokenizer-2'), exist_ok=True)
    dims = dict(seed_decoder.SMALL, n_embed=blocks['image'], out_dim=embed_dim)
    torch.manual_seed(seed + 4)
    m = seed_decoder.SeedDecoder(**dims)
    sd = dict(m.state_dict())
    sd['encode_task_layer.0.weight'] = torch.randn(dims['hidden'], dims['hidden'])
    torch.save(sd, os.path.join(out, 'seed-tokenizer-2', 'seed_quantizer.pt'))
    unclip.make_fake(os.path.join(out, 'stable-diffusion-2-1-unclip'), seed=seed + 5, embed_dim=embed_dim, text_dim=text_dim)
    torch.onnx.export(_StandIn(blocks['image']), (torch.zeros(1, 3, 224, 224),), os.path.join(out, 'seed_encoder_standin.onnx'),
                      input_names=['pixel_values'], output_names=['codes'], opset_version=17)
    return {'speech_modules': sm, 'encodec': os.path.join(out, 'encodec_32khz'), 'seed': os.path.join(out, 'seed-tokenizer-2'),
            'unclip': os.path.join(out, 'stable-diffusion-2-1-unclip'), 'image_encoder': os.path.join(out, 'seed_encoder_standin.onnx')}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--small-blocks', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    import warnings
    warnings.filterwarnings('ignore')
    for k, v in make(a.out, a.small_blocks, a.seed).items():
        print(f'{k}: {v}')


if __name__ == '__main__':
    main()
