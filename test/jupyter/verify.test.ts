import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIME } from '../../common/generation';
import type { TokensOutput } from '../../common/output-payloads';
import { readNotebook, writeNotebook, type Notebook } from '../../kernel/jupyter/notebook';
import { runVerify, verify } from '../../kernel/jupyter/verify';
import { cleanupFixtures, ensureKernelBuilt, mediaFixture } from './helpers';

const cell = (src: string, tags: string[] = []) => ({
  id: Math.random().toString(36).slice(2),
  cell_type: 'code' as const,
  source: src,
  metadata: { tags },
  outputs: [],
  execution_count: null,
});

describe('anygpt verify', function () {
  this.timeout(120000);
  const dir = mkdtempSync(join(tmpdir(), 'anygpt-verify-'));
  const nbPath = join(dir, 'chat.ipynb');
  const quiet = () => {};
  let model: string;

  before(async () => {
    ensureKernelBuilt();
    // The media fixture over the real engine. At %temperature 10 its one-hot logits (30) leave the sampler a
    // near-uniform choice, so the first cell's tokens depend on the recorded seed: reproducing them is real.
    model = mediaFixture();
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        cell('%temperature 10\n%max_new_tokens 12\nHello!'),
        cell('%task t2i\nimg of a blue circle'),
        cell('%max_new_tokens 4\nnot compared', ['anygpt-verify-skip']),
        cell('%nope', ['anygpt-verify-error']),
      ],
    };
    writeNotebook(nbPath, nb);
    // First run with --update records the outputs.
    const r = await verify({ notebook: nbPath, model, update: true, log: quiet });
    assert.ok(existsSync(r.executedPath!));
  });
  after(() => {
    cleanupFixtures();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-executes, reproduces token for token, writes the notebook next to the report', async () => {
    const r = await verify({ notebook: nbPath, model, log: quiet });
    assert.equal(r.ok, true, readFileSync(r.reportPath, 'utf8'));
    const recorded = readNotebook(nbPath).cells.map((c) => c.outputs?.find((o) => o.output_type === 'execute_result'));
    const g = (recorded[0]!.data as Record<string, TokensOutput>)[MIME.tokens];
    assert.equal(g.model.name, 'fixture-media');
    assert.equal(g.tokens.length - g.promptLength, 12, 'twelve sampled tokens were compared');
    assert.ok(
      readNotebook(nbPath).cells[1].outputs!.some((o) => 'image/png' in ((o.data as object) ?? {})),
      'the t2i cell recorded an image',
    );
    assert.deepEqual(
      r.verdicts.map((v) => v.status),
      ['same', 'same', 'skipped', 'lax-ok'],
    );
    assert.ok(existsSync(join(dir, 'chat.verified.ipynb')));
  });

  it('reports the first diverging token when comparing two saved notebooks (no execution)', async () => {
    const nb = readNotebook(nbPath);
    const out = nb.cells[0].outputs!.find((o) => o.output_type === 'execute_result')!;
    const g = (out.data as Record<string, TokensOutput>)[MIME.tokens];
    const pos = g.promptLength + 2;
    g.tokens[pos] = { ...g.tokens[pos], id: 999, piece: '▁changed' };
    const other = join(dir, 'tampered.ipynb');
    writeNotebook(other, nb);
    const r = await verify({ notebook: nbPath, against: other, log: quiet });
    assert.equal(r.ok, false);
    const d = r.verdicts[0].divergence!;
    assert.equal(d.position, pos);
    assert.equal(d.got!.piece, '▁changed');
    assert.equal(d.generated, true);
    assert.match(
      readFileSync(r.reportPath, 'utf8'),
      new RegExp(`cell 0: differs at token ${pos} \\(generated\\): expected \\d+ ".*", got 999 "▁changed"`),
    );
    assert.equal(await runVerify([nbPath, '--against', other]), 1);
    assert.equal(await runVerify([]), 2);
  });
});
