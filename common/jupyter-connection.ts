/**
 * The Jupyter connection file: what a launcher (the VS Code extension, our test/bench client, jupyter_client)
 * writes and the kernel reads. One definition for every side; node builtins only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
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

/**
 * `n` distinct TCP ports free on loopback right now (the kernel binds them shortly after; a race jupyter_client
 * accepts too). All n listeners stay open until every port is known: closing each before asking for the next let
 * the OS hand the same port out twice, and the kernel then failed with "Address already in use".
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      srv.unref();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))),
    );
  }
}

/** Picks five free ports and a fresh HMAC key, and writes kernel.json (mode 0600) into a new temp folder. */
export async function writeConnectionFile(
  opts: { key?: string; kernelName?: string; prefix?: string } = {},
): Promise<{ file: string; info: ConnectionInfo }> {
  const [shell_port, control_port, stdin_port, iopub_port, hb_port] = await freePorts(5);
  const info: ConnectionInfo = {
    transport: 'tcp',
    ip: '127.0.0.1',
    key: opts.key ?? randomBytes(16).toString('hex'),
    signature_scheme: 'hmac-sha256',
    shell_port,
    control_port,
    stdin_port,
    iopub_port,
    hb_port,
    ...(opts.kernelName ? { kernel_name: opts.kernelName } : {}),
  };
  const file = join(mkdtempSync(join(tmpdir(), opts.prefix ?? 'anygpt-kernel-')), 'kernel.json');
  writeFileSync(file, JSON.stringify(info, null, 2), { mode: 0o600 });
  return { file, info };
}

export type ConnectionChannel = 'shell' | 'control' | 'stdin' | 'iopub' | 'hb';

/** The ZeroMQ endpoint of one channel; ipc endpoints are "ipc://{ip}-{port}" (jupyter_client's convention). */
export function endpoint(info: ConnectionInfo, channel: ConnectionChannel): string {
  const port = info[`${channel}_port`];
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
