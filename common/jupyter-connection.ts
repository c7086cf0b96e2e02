/**
 * The Jupyter connection file: what a launcher (the VS Code extension, our test/bench client, jupyter_client)
 * writes and the kernel reads. One definition for every side; node builtins only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  kernel_name?: string;
}

/** A TCP port free on loopback right now (the kernel binds it shortly after; a race jupyter_client accepts too). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Picks five free ports and a fresh HMAC key, and writes kernel.json (mode 0600) into a new temp folder. */
export async function writeConnectionFile(opts: { key?: string; kernelName?: string; prefix?: string } = {}): Promise<{ file: string; info: ConnectionInfo }> {
  const info: ConnectionInfo = {
    transport: 'tcp',
    ip: '127.0.0.1',
    key: opts.key ?? randomBytes(16).toString('hex'),
    signature_scheme: 'hmac-sha256',
    shell_port: await freePort(),
    control_port: await freePort(),
    stdin_port: await freePort(),
    iopub_port: await freePort(),
    hb_port: await freePort(),
    ...(opts.kernelName ? { kernel_name: opts.kernelName } : {}),
  };
  const file = join(mkdtempSync(join(tmpdir(), opts.prefix ?? 'anygpt-kernel-')), 'kernel.json');
  writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600 });
  return { file, info };
}
