// The one Jupyter client (common/jupyter-client.ts) and its futures. Message orderings that a real kernel does not
// let a test choose (idle before reply, input_request on stdin) are played by a scripted kernel on the kernel's
// own ZeroMQ sockets (real ROUTER/PUB sockets, real signing), each step released by the test; a kernel that dies
// mid-request is the real kernel process killed while it generates.
import assert from 'node:assert/strict';
import { JupyterClient } from '../../common/jupyter-client';
import { freePorts, type ConnectionInfo } from '../../common/jupyter-connection';
import type { KernelFuture } from '../../common/jupyter-future';
import { isMessageType, type RequestType } from '../../common/jupyter-messages';
import { ZmqTransport } from '../../common/jupyter-zmq';
import { KernelClient } from '../../kernel/jupyter/kernel-client';
import { KernelSockets } from '../../kernel/jupyter/sockets';
import { newHeader, type Message } from '../../kernel/jupyter/wire';
import { cleanupFixtures, ensureKernelBuilt, KERNEL_JS, longFixture } from '../jupyter/helpers';

/** A kernel whose replies to execute_request are steps the test releases one at a time. */
class ScriptedKernel {
  readonly sockets: KernelSockets;
  /** Requests the kernel received and has not finished, by code. */
  readonly pending = new Map<string, Message>();
  readonly stdinReplies: Message[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly info: ConnectionInfo) {
    this.sockets = new KernelSockets(info, () => undefined);
  }

  static async start(): Promise<ScriptedKernel> {
    const [shell_port, control_port, stdin_port, iopub_port, hb_port] = await freePorts(5);
    const k = new ScriptedKernel({
      transport: 'tcp',
      ip: '127.0.0.1',
      key: 'scripted-key',
      signature_scheme: 'hmac-sha256',
      shell_port,
      control_port,
      stdin_port,
      iopub_port,
      hb_port,
    });
    await k.sockets.bind();
    k.sockets.start((channel, msg) => k.onMessage(channel, msg));
    return k;
  }

  private onMessage(channel: 'shell' | 'control' | 'stdin', msg: Message): void {
    if (channel === 'stdin') this.stdinReplies.push(msg);
    else if (msg.header.msg_type === 'kernel_info_request') {
      void this.status(msg, 'busy')
        .then(() => this.reply(msg, 'kernel_info_reply', { status: 'ok', protocol_version: '5.3' }))
        .then(() => this.status(msg, 'idle'));
    } else this.pending.set(String(msg.content.code), msg);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `test()` holds after a message arrived. */
  async until(test: () => boolean): Promise<void> {
    while (!test()) await new Promise<void>((r) => this.waiters.push(r));
  }

  reply(parent: Message, type: string, content: unknown): Promise<void> {
    const header = newHeader(type, 'scripted');
    return this.sockets.send('shell', {
      idents: parent.idents,
      header,
      parent_header: parent.header,
      metadata: {},
      content,
    });
  }

  publish(parent: Message, type: string, content: unknown): Promise<void> {
    const header = newHeader(type, 'scripted');
    return this.sockets.send('iopub', {
      idents: [Buffer.from(type)],
      header,
      parent_header: parent.header,
      metadata: {},
      content,
    });
  }

  status(parent: Message, state: 'busy' | 'idle'): Promise<void> {
    return this.publish(parent, 'status', { execution_state: state });
  }

  inputRequest(parent: Message, prompt: string): Promise<void> {
    const header = newHeader('input_request', 'scripted');
    // Addressed to the shell request's routing id: the client's stdin socket shares it.
    return this.sockets.send('stdin', {
      idents: parent.idents,
      header,
      parent_header: parent.header,
      metadata: {},
      content: { prompt, password: false },
    });
  }

  close(): Promise<void> {
    return this.sockets.close();
  }
}

/** Settles-so-far of a future's two promises, observed without awaiting them. */
function watch<R extends RequestType>(f: KernelFuture<R>): { reply: boolean; done: boolean } {
  const seen = { reply: false, done: false };
  void f.reply.then(() => (seen.reply = true));
  void f.done.then(() => (seen.done = true));
  return seen;
}

/** Lets every message already on its way be received and routed. */
async function settle(client: JupyterClient): Promise<void> {
  // iopub keeps its order, so once a later request's idle status is in, everything published before it is routed.
  await client.request('shell', 'kernel_info_request', {}).done;
}

describe('common jupyter client: one future per request', function () {
  this.timeout(30000);
  let kernel: ScriptedKernel;
  let client: JupyterClient;

  beforeEach(async () => {
    kernel = await ScriptedKernel.start();
    client = new JupyterClient(new ZmqTransport(kernel.info));
    client.connect();
    await client.waitReady(10000);
  });
  afterEach(async () => {
    client.close();
    await kernel.close();
  });

  it('reply before idle: `reply` settles first, outputs after the reply still reach the future, `done` waits for idle', async () => {
    const outputs: string[] = [];
    const f = client.execute({ code: 'reply-first' }, { onIOPub: (m) => outputs.push(m.header.msg_type) });
    const seen = watch(f);
    await kernel.until(() => kernel.pending.has('reply-first'));
    const req = kernel.pending.get('reply-first')!;
    await kernel.status(req, 'busy');
    await kernel.reply(req, 'execute_reply', { status: 'ok', execution_count: 1 });
    const reply = await f.reply;
    assert.equal(reply.content.status, 'ok');
    await kernel.publish(req, 'stream', { name: 'stdout', text: 'late output' });
    await settle(client);
    assert.equal(seen.done, false, 'not done before status idle');
    await kernel.status(req, 'idle');
    const done = await f.done;
    assert.equal(done, reply);
    assert.deepEqual(outputs, ['status', 'stream', 'status']);
    assert.equal(f.isDisposed, true);
  });

  it('idle before reply: `done` waits for the reply that comes after the idle status', async () => {
    const outputs: string[] = [];
    const f = client.execute({ code: 'idle-first' }, { onIOPub: (m) => outputs.push(m.header.msg_type) });
    const seen = watch(f);
    await kernel.until(() => kernel.pending.has('idle-first'));
    const req = kernel.pending.get('idle-first')!;
    await kernel.status(req, 'busy');
    await kernel.publish(req, 'stream', { name: 'stdout', text: 'out' });
    await kernel.status(req, 'idle');
    await settle(client);
    assert.deepEqual(outputs, ['status', 'stream', 'status'], 'the idle status was routed');
    assert.deepEqual(seen, { reply: false, done: false });
    await kernel.reply(req, 'execute_reply', { status: 'ok', execution_count: 2 });
    const done = await f.done;
    assert.equal(done.content.execution_count, 2);
    assert.equal(seen.reply, true);
  });

  it('routes a stdin input_request to its future and sends the input_reply on stdin', async () => {
    const prompts: string[] = [];
    const f = client.execute(
      { code: 'ask' },
      {
        onStdin: (m) => {
          prompts.push(m.content.prompt);
          void f.sendInputReply('forty-two', m);
        },
      },
    );
    await kernel.until(() => kernel.pending.has('ask'));
    const req = kernel.pending.get('ask')!;
    assert.equal(req.content.allow_stdin, true, 'a request with an onStdin hook allows stdin');
    await kernel.status(req, 'busy');
    await kernel.inputRequest(req, 'name? ');
    await kernel.until(() => kernel.stdinReplies.length > 0);
    const answer = kernel.stdinReplies[0];
    assert.deepEqual(prompts, ['name? ']);
    assert.equal(answer.header.msg_type, 'input_reply');
    assert.equal(answer.content.value, 'forty-two');
    assert.equal(answer.parent_header.msg_type, 'input_request');
    await kernel.reply(req, 'execute_reply', { status: 'ok', execution_count: 3 });
    await kernel.status(req, 'idle');
    assert.equal((await f.done).content.status, 'ok');
  });

  it('a request without an answer rejects at its timeout; one sent after kernelLost rejects at once', async () => {
    const f = client.execute({ code: 'never' }, { timeoutMs: 300 });
    await assert.rejects(f.done, /execute_request: no reply within 300 ms/);
    client.kernelLost(new Error('gone'));
    await assert.rejects(client.request('shell', 'kernel_info_request', {}).reply, /gone/);
  });

  it('narrows received messages by msg_type', async () => {
    const f = client.execute({ code: 'typed' });
    const streams: string[] = [];
    f.onIOPub = (m) => {
      if (isMessageType(m, 'stream')) streams.push(`${m.content.name}:${m.content.text}`);
    };
    await kernel.until(() => kernel.pending.has('typed'));
    const req = kernel.pending.get('typed')!;
    await kernel.publish(req, 'stream', { name: 'stderr', text: 'warn' });
    await kernel.reply(req, 'execute_reply', { status: 'ok', execution_count: 4 });
    await kernel.status(req, 'idle');
    await f.done;
    assert.deepEqual(streams, ['stderr:warn']);
  });
});

describe('common jupyter client: the real kernel dies mid-request', function () {
  this.timeout(60000);
  after(() => cleanupFixtures());

  it('rejects the open future instead of hanging', async () => {
    ensureKernelBuilt();
    const k = await KernelClient.launch([
      process.execPath,
      KERNEL_JS,
      '--model',
      longFixture(),
      '-f',
      '{connection_file}',
    ]);
    try {
      const running = k.execute('%task tts\n%max_new_tokens 16000\na long sentence', {
        onOutput: () => k.proc.kill('SIGKILL'),
      });
      await assert.rejects(running, /kernel exited with SIGKILL/);
      await assert.rejects(k.client.request('shell', 'kernel_info_request', {}).reply, /kernel exited/);
    } finally {
      k.dispose();
    }
  });
});
