// Extension logic kept free of `vscode`: wire framing, iopub → outputs, stats, media links, settings.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CellOutputs,
  compactOps,
  ERROR,
  STDOUT,
  bundleToItems,
  type OutputData,
  type OutputOp,
} from '../../extension/execution/cell-outputs';
import { findStats, formatStats } from '../../extension/execution/stats';
import { isAnyGptNotebook, shouldClaimNotebook } from '../../extension/notebook-ownership';
import { configMagic } from '../../extension/execution/sampling';
import { tokenTable } from '../../extension/execution/tokenTable';
import { unknownMagics } from '../../extension/language/magic-lint';
import { parseCell } from '../../kernel/prompt/parse';
import { forEditor } from '../../extension/execution/editor-wording';
import { refreshKernelspecs } from '../../extension/kernel/kernelspec-upkeep';
import { checkNodeRuntime, parseNodeVersion } from '../../extension/kernel/runtime-check';
import { mediaLink, modalitiesForFile, placeBytes, placeMedia } from '../../extension/language/mediaLinks';
import { kernelArgv, kernelEnv, resolveNode } from '../../extension/kernel/launcher';
import { cliError, parseInspect } from '../../extension/kernel/engine-cli';
import { decode, encode, newHeader, Signer, WireError } from '../../common/jupyter-wire';
import * as kernelWire from '../../kernel/jupyter/wire';
import { makeGeneration } from '../media/fixtures';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('extension: wire (common/jupyter-wire.ts, shared with the kernel)', () => {
  it('signs and parses a message, with routing frames or an iopub topic in front', () => {
    const msg = {
      header: newHeader('execute_request', 's1', 'vscode'),
      parent_header: {},
      metadata: { cellId: 'c1' },
      content: { code: '%seed 1\nhi' },
    };
    const frames = encode(msg, new Signer('k'));
    const back = decode([Buffer.from('topic'), ...frames], new Signer('k'));
    assert.deepEqual(back.content, msg.content);
    assert.equal(back.header.msg_type, 'execute_request');
    assert.equal(back.header.username, 'vscode');
    assert.deepEqual(back.idents.map(String), ['topic']);
    assert.throws(() => decode(frames, new Signer('other-key')), WireError, 'bad signature is rejected');
  });

  it('is the module the kernel uses (one implementation of framing and signing)', () => {
    assert.equal(kernelWire.encode, encode);
    assert.equal(kernelWire.decode, decode);
    assert.equal(kernelWire.Signer, Signer);
  });
});

describe('extension: iopub → outputs', () => {
  it('merges streams, replaces a display in place on update_display_data, maps images and errors', () => {
    const o = new CellOutputs(() => 3);
    assert.equal(o.apply('stream', { name: 'stdout', text: 'a' })[0].kind, 'append');
    const merged = o.apply('stream', { name: 'stdout', text: 'b' });
    assert.equal(merged[0].kind, 'replace');
    assert.equal(text(o.current[0].items[0].data), 'ab');
    assert.equal(o.current[0].items[0].mime, STDOUT);
    o.apply('display_data', { data: { 'text/plain': 'Hel' }, metadata: {}, transient: { display_id: 'live' } });
    const up = o.apply('update_display_data', {
      data: { 'text/plain': 'Hello' },
      metadata: {},
      transient: { display_id: 'live' },
    });
    assert.deepEqual(
      up.map((x) => x.kind === 'replace' && x.index),
      [1],
    );
    assert.equal(text(o.current[1].items[0].data), 'Hello');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64');
    o.apply('execute_result', {
      data: { 'text/plain': '<image>', 'image/png': png, 'application/vnd.anygpt.tokens+json': { a: 1 } },
      metadata: { anygpt: { model: 'nano' } },
      execution_count: 3,
    });
    const last = o.current[2];
    assert.deepEqual(
      last.items.map((i) => i.mime),
      ['application/vnd.anygpt.tokens+json', 'image/png', 'text/plain'],
    );
    assert.deepEqual([...last.items[1].data], [0x89, 0x50, 0x4e, 0x47]);
    assert.equal(last.metadata.outputType, 'execute_result');
    assert.equal(last.metadata.executionCount, 3);
    o.apply('error', {
      ename: 'PromptError',
      evalue: 'bad magic',
      traceback: ['\u001b[31mPromptError\u001b[0m: bad magic'],
    });
    const err = JSON.parse(text(o.current[3].items[0].data));
    assert.equal(o.current[3].items[0].mime, ERROR);
    assert.equal(err.stack, 'PromptError: bad magic');
  });

  it('honours clear_output(wait=True)', () => {
    const o = new CellOutputs();
    o.apply('stream', { name: 'stdout', text: 'x' });
    assert.deepEqual(o.apply('clear_output', { wait: true }), []);
    const ops = o.apply('stream', { name: 'stdout', text: 'y' });
    assert.deepEqual(
      ops.map((x) => x.kind),
      ['clear', 'append'],
    );
    assert.equal(o.current.length, 1);
  });

  it('compacted op batches give the same outputs as applying every op (a streamed cell, updates, a clear)', () => {
    const apply = (shown: OutputData[], ops: readonly OutputOp[]) => {
      for (const op of ops) {
        if (op.kind === 'clear') shown.length = 0;
        else if (op.kind === 'append') shown.push(op.output);
        else if (shown[op.index]) shown[op.index] = op.output;
      }
      return shown;
    };
    const o = new CellOutputs(() => 1);
    const all: OutputOp[] = [];
    for (let i = 0; i < 200; i++) {
      all.push(...o.apply('stream', { name: 'stdout', text: `t${i} ` }));
      if (i % 50 === 0)
        all.push(
          ...o.apply('display_data', {
            data: { 'text/plain': `status ${i}` },
            metadata: {},
            transient: { display_id: 'st' },
          }),
        );
      else if (i % 10 === 0)
        all.push(
          ...o.apply('update_display_data', {
            data: { 'text/plain': `status ${i}` },
            metadata: {},
            transient: { display_id: 'st' },
          }),
        );
      if (i === 120) all.push(...o.apply('clear_output', { wait: false }));
    }
    const compact = compactOps(all);
    assert.ok(compact.length < all.length / 10, `${compact.length} of ${all.length} ops kept`);
    assert.deepEqual(apply([], compact), apply([], all));
    assert.deepEqual(apply([], all), o.current);
    // batches compacted one at a time (as the mirror drains) end in the same state too
    const shown: OutputData[] = [];
    for (let i = 0; i < all.length; i += 37) apply(shown, compactOps(all.slice(i, i + 37)));
    assert.deepEqual(shown, o.current);
  });

  it('keeps JSON mimes as JSON text and joins multi-line strings', () => {
    const items = bundleToItems({ 'text/plain': ['a\n', 'b'], 'application/json': { x: [1, 2] } });
    assert.equal(text(items.find((i) => i.mime === 'text/plain')!.data), 'a\nb');
    assert.deepEqual(JSON.parse(text(items.find((i) => i.mime === 'application/json')!.data)), { x: [1, 2] });
  });
});

describe('extension: cell stats', () => {
  it('reads metadata.anygpt and formats tokens/s, count, seed, model', () => {
    const m = findStats([
      { outputType: 'display_data', metadata: {} },
      {
        metadata: {
          anygpt: {
            model: 'anygpt-nano',
            executionProvider: 'cpu',
            seed: 42,
            promptTokens: 10,
            generatedTokens: 90,
            tokensPerSecond: 123.45,
          },
        },
      },
    ]);
    const f = formatStats(m!);
    assert.equal(f?.text, '$(pulse) 123.5 tok/s \u00b7 100 tokens \u00b7 seed 42 \u00b7 anygpt-nano');
    assert.match(f!.tooltip, /Prompt tokens: 10, generated: 90/);
    assert.equal(findStats([{}]), undefined);
  });
});

describe('extension: notebooks, settings, launcher', () => {
  it('recognises our kernelspec in both ipynb metadata layouts', () => {
    assert.ok(isAnyGptNotebook({ kernelspec: { name: 'anygpt' } }));
    assert.ok(isAnyGptNotebook({ custom: { metadata: { language_info: { name: 'anygpt' } } } }));
    assert.ok(!isAnyGptNotebook({ kernelspec: { name: 'python3' } }));
  });

  it('turns default sampling into one %config line', () => {
    assert.equal(configMagic({ temperature: 0.7, topK: 200, topP: null }), '%config temperature=0.7 top_k=200');
    assert.equal(configMagic({}), '');
  });

  it('finds node on PATH or the configured path, never the editor runtime', () => {
    const has = (p: string) => p === '/opt/n/bin/node' || p === '/usr/local/bin/node';
    assert.equal(resolveNode('', { PATH: '/nope:/usr/local/bin' }, has), '/usr/local/bin/node');
    assert.equal(resolveNode('/opt/n/bin/node', { PATH: '' }, has), '/opt/n/bin/node');
    assert.equal(resolveNode('/missing/node', { PATH: '/usr/local/bin' }, has), undefined);
    assert.deepEqual(kernelArgv('/n', '/x/dist/kernel.js', '/tmp/c.json'), [
      '/n',
      '/x/dist/kernel.js',
      '-f',
      '/tmp/c.json',
    ]);
    const env = kernelEnv({ PATH: '/bin' }, { modelPath: '/m', executionProvider: 'cuda', threads: 2 });
    assert.equal(env.ANYGPT_MODEL, '/m');
    assert.equal(env.ANYGPT_EP, 'cuda');
    assert.equal(env.ANYGPT_THREADS, '2');
    assert.equal(env.JPY_PARENT_PID, String(process.pid));
    // The settings win over the editor's own environment, defaults included.
    const defaults = kernelEnv({ ANYGPT_EP: 'cuda', ANYGPT_THREADS: '8' }, { executionProvider: 'auto', threads: 0 });
    assert.equal(defaults.ANYGPT_EP, 'auto');
    assert.equal(defaults.ANYGPT_THREADS, '0');
  });

  it('reads the CLI: inspect JSON on success, the precise error otherwise', () => {
    const ok = parseInspect({
      code: 0,
      stdout: '{"ok":true,"dir":"/m","name":"nano","modalities":["image"]}',
      stderr: '',
    });
    assert.deepEqual(ok.modalities, ['image']);
    assert.throws(
      () =>
        parseInspect({
          code: 1,
          stdout: '',
          stderr: 'anygpt: /m/anygpt.json: llm.numLayers must be a positive integer, got 0\n',
        }),
      /llm\.numLayers must be a positive integer/,
    );
    assert.equal(cliError({ code: 2, stdout: '', stderr: '' }), 'exit code 2');
  });
});

describe('extension: runtime check before the kernel starts', () => {
  it('accepts this Node and names the setting for python3, a missing file and an old Node', async () => {
    const ok = await checkNodeRuntime(process.execPath);
    assert.ok(ok.ok && ok.version === process.version, JSON.stringify(ok));
    const py = await checkNodeRuntime('/usr/bin/python3');
    assert.ok(
      !py.ok && /^anygpt\.nodePath \(\/usr\/bin\/python3\) is not Node\.js .*Python 3/.test(py.reason),
      JSON.stringify(py),
    );
    const none = await checkNodeRuntime('/nonexistent/node');
    assert.ok(!none.ok && /anygpt\.nodePath \("\/nonexistent\/node"\) is not an executable file/.test(none.reason));
    const empty = await checkNodeRuntime('', { PATH: '/nonexistent' });
    assert.ok(!empty.ok && /No "node" on PATH/.test(empty.reason));
    assert.deepEqual(parseNodeVersion('v18.19.1\n'), { major: 18, version: 'v18.19.1' });
    assert.equal(parseNodeVersion('Python 3.11.2'), undefined);
    for (const r of [py, none, empty]) assert.ok(!r.ok && !r.reason.includes('\n'), 'one line');
  });
});

describe('extension: kernelspecs across updates and uninstall', () => {
  it('points the extension-installed kernelspec at the running version and removes it on uninstall', () => {
    const data = mkdtempSync(join(tmpdir(), 'anygpt-jdata-'));
    const kernels = join(data, 'kernels');
    const ext = (v: string) =>
      join('/home/u/.vscode/extensions', `anygpt-notebooks.anygpt-notebooks-${v}`, 'dist', 'kernel.js');
    const spec = (name: string, script: string) => {
      mkdirSync(join(kernels, name), { recursive: true });
      writeFileSync(
        join(kernels, name, 'kernel.json'),
        JSON.stringify({ argv: ['/usr/bin/node', script, '-f', '{connection_file}'], display_name: name, env: {} }),
      );
    };
    const argv1 = (name: string) => JSON.parse(readFileSync(join(kernels, name, 'kernel.json'), 'utf8')).argv[1];
    spec('anygpt', ext('0.1.0'));
    spec('anygpt-clone', '/src/anygpt/dist/kernel.js');
    mkdirSync(join(kernels, 'broken'));
    writeFileSync(join(kernels, 'broken', 'kernel.json'), '{');
    try {
      // a development copy never takes over the installed copies' kernelspecs
      assert.deepEqual(refreshKernelspecs('/work/anygpt/dist/kernel.js', kernels), []);
      assert.deepEqual(refreshKernelspecs(ext('0.2.0-linux-x64'), kernels), [join(kernels, 'anygpt')]);
      assert.equal(argv1('anygpt'), ext('0.2.0-linux-x64'));
      assert.equal(argv1('anygpt-clone'), '/src/anygpt/dist/kernel.js');
      assert.deepEqual(refreshKernelspecs(ext('0.2.0-linux-x64'), kernels), [], 'already current');
      // the vscode:uninstall hook, as VS Code runs it (package.json scripts)
      const hook = JSON.parse(readFileSync('package.json', 'utf8')).scripts['vscode:uninstall'];
      assert.equal(hook, 'node ./dist/uninstall.js');
      const out = execFileSync(process.execPath, ['dist/uninstall.js'], {
        env: { ...process.env, JUPYTER_DATA_DIR: data },
        encoding: 'utf8',
      });
      assert.match(out, /removed the kernelspec/);
      assert.deepEqual(readdirSync(kernels).sort(), ['anygpt-clone', 'broken']);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('extension: messages in the editor name settings and commands', () => {
  it('rewrites CLI flags and environment variables', () => {
    const cli = 'no model package at /x (anygpt.json missing). Check --model.';
    assert.equal(
      forEditor(cli),
      'no model package at /x (anygpt.json missing). Pick a folder that contains anygpt.json with "AnyGPT: Select Model".',
    );
    const kernel =
      'no model package configured: run `anygpt-kernel install --model DIR`, set ANYGPT_MODEL, or use %model DIR';
    assert.doesNotMatch(forEditor(kernel), /--|ANYGPT_/);
    assert.match(forEditor(kernel), /set anygpt\.modelPath/);
    assert.equal(
      forEditor('ANYGPT_EP must be auto, cpu or cuda'),
      'the anygpt.executionProvider setting must be auto, cpu or cuda',
    );
    assert.equal(forEditor('%temperature 2 is out of range'), '%temperature 2 is out of range');
  });
});

describe("extension: misspelt magics (the kernel parser's table)", () => {
  it('flags unknown leading magics with the nearest name, as the parser does', () => {
    const src = '%seed 1\n  %temprature 0.5\n%top_k 5\n%zzzzzz\nhello %notamagic';
    const found = unknownMagics(src);
    assert.deepEqual(
      found.map((p) => [p.line, p.col, p.length, p.name, p.suggestion]),
      [
        [1, 2, 11, 'temprature', 'temperature'],
        [3, 0, 7, 'zzzzzz', undefined],
      ],
    );
    // the kernel refuses the same cell with the same hint
    assert.throws(() => parseCell('%temprature 0.5\nhi'), /unknown magic %temprature \(did you mean %temperature\?\)/);
    assert.match(found[0].message, /unknown magic %temprature \(did you mean %temperature\?\)/);
    assert.deepEqual(unknownMagics('%decode image 1 2 3\n%x'), []);
    for (const m of ['%task t2i', '%seed 3', '%max_new_tokens 5', '%model /x', '%help'])
      assert.deepEqual(unknownMagics(m), [], m);
  });
});

describe('extension: media links', () => {
  it('picks modalities from file names', () => {
    assert.deepEqual(modalitiesForFile('cat.PNG'), ['image']);
    assert.deepEqual(modalitiesForFile('hello.wav'), ['speech', 'music']);
    assert.deepEqual(modalitiesForFile('piano-song.flac'), ['music', 'speech']);
    assert.deepEqual(modalitiesForFile('notes.txt'), []);
    assert.equal(mediaLink('speech', 'media/a b.wav'), '![speech](media/a b.wav)');
  });

  it('links files under the notebook folder in place and copies others into media/', () => {
    const nb = join('/w', 'nbs');
    assert.deepEqual(
      placeMedia(nb, join(nb, 'img', 'cat.png'), () => false),
      { target: 'img/cat.png' },
    );
    const taken = new Set([join(nb, 'media', 'dog.png')]);
    assert.deepEqual(
      placeMedia(nb, '/home/u/Desktop/dog.png', (p) => taken.has(p)),
      { target: 'media/dog-1.png', copyTo: join(nb, 'media', 'dog-1.png') },
    );
    assert.equal(placeMedia(nb, '/tmp/a(1).wav', () => false).target, 'media/a_1_.wav');
  });

  it('writes pasted bytes into media/ under a new name, never over an existing file', () => {
    const nb = join('/w', 'nbs');
    // before: a pasted image was linked as __pasted__/image.png, a file nobody wrote
    const taken = new Set([join(nb, 'media', 'image.png'), join(nb, 'media', 'image-1.png')]);
    assert.deepEqual(
      placeBytes(nb, 'image.png', (p) => taken.has(p)),
      { target: 'media/image-2.png', copyTo: join(nb, 'media', 'image-2.png') },
    );
    assert.equal(placeBytes(nb, 'a[1].png', () => false).target, 'media/a_1_.png');
  });
});

describe('extension: token table', () => {
  it('lists every token with ids and log-probs and names the distributions', () => {
    const g = makeGeneration({ textTokens: 3 });
    const t = tokenTable(g);
    assert.match(t, /raw = model distribution/);
    assert.equal(t.trim().split('\n').length, 4 + g.tokens.length);
  });
});

describe('extension: next to the Jupyter extension', () => {
  const base = {
    ours: true,
    jupyterExtension: true,
    selectedHere: false,
    claimedThisSession: false,
    userChoseOther: false,
  };
  it('binds an AnyGPT notebook to our controller only when the Jupyter extension could offer a duplicate', () => {
    assert.equal(shouldClaimNotebook(base), true);
    assert.equal(shouldClaimNotebook({ ...base, jupyterExtension: false }), false, 'without it affinity alone decides');
    assert.equal(shouldClaimNotebook({ ...base, ours: false }), false, 'other notebooks are left alone');
  });
  it("claims once, not when already ours, and never against the user's choice", () => {
    assert.equal(shouldClaimNotebook({ ...base, selectedHere: true }), false);
    assert.equal(shouldClaimNotebook({ ...base, claimedThisSession: true }), false);
    assert.equal(shouldClaimNotebook({ ...base, userChoseOther: true }), false);
  });
});
