/**
 * The kernel's engine settings: ANYGPT_EP / ANYGPT_THREADS (what the VS Code extension sets from
 * anygpt.executionProvider / anygpt.threads) and the --ep / --threads flags reach Engine.open. The kernel logs
 * what it asked for and the provider the engine actually runs; every output's metadata names that provider.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { KernelClient } from '../../kernel/jupyter/kernel-client';
import { cleanupFixtures, ensureKernelBuilt, KERNEL_JS, launchModel, mediaFixture } from './helpers';

type Out = { header: { msg_type: string }; content: unknown };
const providerOf = (outputs: Out[]) => {
  const last = outputs
    .filter((o) => o.header.msg_type === 'execute_result' || o.header.msg_type === 'display_data')
    .at(-1);
  return (last?.content as { metadata?: { anygpt?: { executionProvider?: string } } })?.metadata?.anygpt
    ?.executionProvider;
};
const launchWith = (argv: string[], env: Record<string, string>) => {
  ensureKernelBuilt();
  return KernelClient.launch(
    [process.execPath, KERNEL_JS, '--model', mediaFixture(), ...argv, '-f', '{connection_file}'],
    { env: { ...process.env, ...env } },
  );
};

describe('jupyter kernel: execution provider and threads (ANYGPT_EP/ANYGPT_THREADS, --ep/--threads)', function () {
  this.timeout(120000);
  const kernels: KernelClient[] = [];
  after(async () => {
    for (const k of kernels) await k.shutdown().catch(() => undefined);
    cleanupFixtures();
  });

  it('ANYGPT_EP=cpu ANYGPT_THREADS=1: the engine opens on the CPU with one thread', async () => {
    const k = await launchModel(mediaFixture(), { ANYGPT_EP: 'cpu', ANYGPT_THREADS: '1' });
    kernels.push(k);
    const r = await k.execute('hello');
    assert.equal(r.reply.content.status, 'ok', String(r.reply.content.evalue));
    assert.equal(providerOf(r.outputs), 'cpu');
    assert.match(k.stderr, /starting: model .+, execution provider cpu, threads 1/);
    assert.match(k.stderr, /engine: fixture-media on cpu \(requested execution provider cpu, threads 1\)/);
  });

  let autoRanOn: string | undefined;
  it('the flags win over the environment; auto reports the provider it ended on', async () => {
    const k = await launchWith(['--ep', 'auto', '--threads', '2'], { ANYGPT_EP: 'cuda', ANYGPT_THREADS: '9' });
    kernels.push(k);
    const r = await k.execute('hello');
    assert.equal(r.reply.content.status, 'ok', String(r.reply.content.evalue));
    autoRanOn = providerOf(r.outputs);
    assert.ok(autoRanOn === 'cpu' || autoRanOn === 'cuda', String(autoRanOn));
    assert.match(
      k.stderr,
      new RegExp(`engine: fixture-media on ${autoRanOn} \\(requested execution provider auto, threads 2\\)`),
    );
  });

  it('--ep cuda is passed through: without CUDA the first cell says so (no silent CPU fallback)', async function () {
    if (autoRanOn !== 'cpu') this.skip(); // CUDA works here: nothing to refuse
    const k = await launchWith(['--ep', 'cuda'], {});
    kernels.push(k);
    const r = await k.execute('hello');
    assert.equal(r.reply.content.status, 'error');
    assert.match(String(r.reply.content.evalue), /CUDA execution provider/);
  });

  it('no setting at all: CPU with ONNX Runtime choosing the threads (as before)', async () => {
    const env = { ...process.env };
    delete env.ANYGPT_EP;
    delete env.ANYGPT_THREADS;
    ensureKernelBuilt();
    const k = await KernelClient.launch(
      [process.execPath, KERNEL_JS, '--model', mediaFixture(), '-f', '{connection_file}'],
      { env },
    );
    kernels.push(k);
    const r = await k.execute('hello');
    assert.equal(providerOf(r.outputs), 'cpu');
    assert.match(k.stderr, /engine: fixture-media on cpu \(requested execution provider cpu, threads ORT default\)/);
  });

  for (const [what, argv, env, message] of [
    ['ANYGPT_THREADS=two', [], { ANYGPT_THREADS: 'two' }, /ANYGPT_THREADS must be a whole number >= 0/],
    ['--threads -1', ['--threads', '-1'], {}, /--threads must be a whole number >= 0/],
    ['ANYGPT_EP=gpu', [], { ANYGPT_EP: 'gpu' }, /ANYGPT_EP must be auto, cpu or cuda, not "gpu"/],
  ] as const) {
    it(`refuses ${what} at start with a precise message`, () => {
      ensureKernelBuilt();
      // The settings are checked before the connection file is read, so none is needed.
      const r = spawnSync(
        process.execPath,
        [KERNEL_JS, '--model', mediaFixture(), ...argv, '-f', '/nonexistent/kernel.json'],
        { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30000 },
      );
      assert.equal(r.status, 1);
      assert.match(r.stderr, message);
    });
  }
});
