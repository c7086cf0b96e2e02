/**
 * Property and fuzz tests (fast-check) for everything that reads input a user, a notebook or a client controls:
 * the prompt parser, the WAV and PNG readers, the manifest validator, the Jupyter message decoder and the
 * renderers' payload checks. See harness.ts for the contract and the run counts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { checkAudioOutput, checkGeneration, OutputFormatError } from '../../common/output-check';
import { decode, encode, newHeader, Signer, WireError } from '../../common/jupyter-wire';
import { bytesSource } from '../../kernel/codecs/byte-source';
import { MediaError } from '../../kernel/codecs/errors';
import { readImage } from '../../kernel/codecs/image-io';
import { encodeWav16, parseWavHeader, readWavFrames } from '../../kernel/codecs/wav-io';
import { PackageError, validateManifest } from '../../kernel/engine/manifest-schema';
import { parseCell, PromptError } from '../../kernel/prompt';
import { makeAudio, makeGeneration } from '../media/fixtures';
import { counted, expectRejection, expectRejectionAsync, fuzzParams, mutateBytes, reportCounts } from './harness';

const ROOT = join(__dirname, '..', '..');
const bytesEdit = fc.record({
  edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
  keep: fc.nat({ max: 4096 }),
  drop: fc.record({ at: fc.nat(), length: fc.nat({ max: 16 }) }),
});

describe('fuzz (fast-check)', function () {
  this.timeout(0);
  after(reportCounts);

  it('prompt parser: any cell parses or fails with a located PromptError', () => {
    const fragment = fc.oneof(
      fc.string(),
      fc.constantFrom(
        '%decode music ',
        '%decode speech <🗣️3>',
        '%decode image',
        '%task tts',
        '%task ',
        '%temperature ',
        '%top_p 0',
        '%config top_p=',
        '%config seed=1 beams=x',
        '%voice off',
        '%voice ',
        '%model ',
        '%raw',
        '%reset',
        '%help',
        '![image](',
        '![speech](out:',
        '![music](x.wav)',
        ')',
        '<👀12>',
        '%',
        '\n',
        '\r\n',
        ' ',
        '-1',
        '1e309',
        'NaN',
      ),
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 12 }), (parts) => {
        counted('prompt parser');
        const src = parts.join('');
        const cell = expectRejection(() => parseCell(src), PromptError);
        if (!cell) return;
        assert.equal(typeof cell.body, 'string');
        for (const m of cell.media) assert.ok(m.line >= 1 && m.col >= 1);
      }),
      fuzzParams(),
    );
  });

  it('WAV reader: any bytes are read or refused with a MediaError', () => {
    const valid = new Uint8Array(
      encodeWav16(
        Float32Array.from({ length: 400 }, (_, i) => Math.sin(i / 5)),
        16000,
      ),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }),
          bytesEdit.map((e) => mutateBytes(valid, e.edits, e.keep, e.drop)),
        ),
        (b) => {
          counted('WAV reader');
          const src = bytesSource(b, 'fuzz.wav');
          const info = expectRejection(() => parseWavHeader(src), MediaError);
          if (!info) return;
          assert.ok(info.frames >= 0 && Number.isInteger(info.frames));
          const frames = expectRejection(() => readWavFrames(src, info, 0, Math.min(info.frames, 2000)), MediaError);
          if (frames) for (const ch of frames) assert.ok(ch.every(Number.isFinite) || info.encoding === 'float');
        },
      ),
      fuzzParams(),
    );
  });

  it('PNG reader: any bytes are read or refused with a MediaError', async () => {
    const png = new Uint8Array(
      await sharp({ create: { width: 6, height: 5, channels: 3, background: { r: 200, g: 10, b: 90 } } })
        .png()
        .toBuffer(),
    );
    const spec = JSON.parse(readFileSync(join(ROOT, 'models', 'anygpt-nano', 'anygpt.json'), 'utf8')).modalities.image
      .input;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 128 }),
          bytesEdit.map((e) => mutateBytes(png, e.edits, e.keep, e.drop)),
        ),
        async (b) => {
          counted('PNG reader');
          const img = await expectRejectionAsync(() => readImage(bytesSource(b, 'fuzz.png'), spec, 4096), MediaError);
          if (img) assert.equal(img.pixels.length, 3 * img.width * img.height);
        },
      ),
      fuzzParams(),
    );
  });

  it('manifest validator: any JSON is a Manifest or a PackageError', () => {
    const nano = JSON.parse(readFileSync(join(ROOT, 'models', 'anygpt-nano', 'anygpt.json'), 'utf8'));
    // Replace or delete the value at a random path of nano's manifest.
    const paths: string[][] = [];
    const walk = (v: unknown, p: string[]) => {
      paths.push(p);
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(nano, []);
    const spoiled = fc
      .tuple(
        fc.constantFrom(...paths.filter((p) => p.length)),
        fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
      )
      .map(([p, v]) => {
        const m = structuredClone(nano);
        let o = m;
        for (const k of p.slice(0, -1)) o = o[k];
        if (v === undefined) delete o[p.at(-1)!];
        else o[p.at(-1)!] = v;
        return m;
      });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), spoiled), (j) => {
        counted('manifest validator');
        expectRejection(() => validateManifest(j as never), PackageError);
      }),
      fuzzParams(),
    );
  });

  it('Jupyter message decoder: any frames decode to a message with object parts, or a WireError', () => {
    const signer = new Signer('fuzz-key');
    const json = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({}), fc.string(), fc.constant('{'));
    const text = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    const signed = fc.tuple(json, json, json, fc.boolean()).map(([parent, metadata, content, good]) => {
      const header = Buffer.from(JSON.stringify(newHeader('execute_request', 'fuzz')));
      const parts = [header, text(parent), text(metadata), text(content)];
      const sig = good ? Buffer.from(signer.sign(parts)) : Buffer.from('0'.repeat(64));
      return [Buffer.from('id'), Buffer.from('<IDS|MSG>'), sig, ...parts];
    });
    const raw = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 32 }).map((u) => Buffer.from(u)),
        fc.constant(Buffer.from('<IDS|MSG>')),
      ),
      { maxLength: 9 },
    );
    fc.assert(
      fc.property(fc.oneof(signed, raw), (frames) => {
        counted('Jupyter message decoder');
        const m = expectRejection(() => decode(frames, signer), WireError);
        if (!m) return;
        for (const part of [m.header, m.parent_header, m.metadata, m.content])
          assert.ok(
            part && typeof part === 'object' && !Array.isArray(part),
            `a decoded part is ${JSON.stringify(part)}`,
          );
        assert.equal(typeof m.header.msg_type, 'string');
        assert.deepEqual(decode(encode(m, signer), signer).content, m.content);
      }),
      fuzzParams(),
    );
  });

  it('renderer payloads: any JSON is a drawable record or an OutputFormatError', () => {
    const gen = JSON.parse(JSON.stringify(makeGeneration({ speechFrames: 6 })));
    const audio = JSON.parse(JSON.stringify(makeAudio(makeGeneration({ speechFrames: 6 }), 'speech')));
    const spoil = (base: Record<string, unknown>) =>
      fc
        .tuple(fc.nat(), fc.string({ maxLength: 12 }), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }))
        .map(([i, key, v]) => {
          const m = structuredClone(base);
          const keys = Object.keys(m);
          const k = keys[i % keys.length];
          const target =
            Array.isArray(m[k]) && (m[k] as unknown[]).length
              ? (m[k] as Record<string, unknown>[])[i % (m[k] as unknown[]).length]
              : m;
          const field =
            target === m ? k : (Object.keys(target ?? {})[i % Math.max(1, Object.keys(target ?? {}).length)] ?? key);
          if (target && typeof target === 'object') {
            if (v === undefined) delete (target as Record<string, unknown>)[field];
            else (target as Record<string, unknown>)[field] = v;
          }
          return m;
        });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), spoil(gen)), (j) => {
        counted('renderer payloads (tokens)');
        const g = expectRejection(() => checkGeneration(j), OutputFormatError);
        if (!g) return;
        for (const t of g.tokens) {
          assert.equal(typeof t.piece, 'string');
          assert.ok(t.span >= -1 && t.span < g.spans.length);
        }
      }),
      fuzzParams(),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), spoil(audio)), (j) => {
        counted('renderer payloads (audio)');
        const a = expectRejection(() => checkAudioOutput(j), OutputFormatError);
        if (!a) return;
        assert.ok(['speech', 'music'].includes(a.modality));
        assert.doesNotThrow(() => atob(a.wav));
      }),
      fuzzParams(),
    );
  });
});
