/** The connection file jupyter_client (or any launcher) hands the kernel. */
import { readFileSync } from 'node:fs';

export { endpoint, type ConnectionInfo, type ConnectionChannel as Channel } from '../../common/jupyter-connection';
import type { ConnectionInfo } from '../../common/jupyter-connection';

export function readConnectionFile(path: string): ConnectionInfo {
  let info: Partial<ConnectionInfo>;
  try {
    info = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read connection file ${path}: ${(e as Error).message}`, { cause: e });
  }
  for (const k of ['shell_port', 'control_port', 'stdin_port', 'iopub_port', 'hb_port'] as const) {
    if (info[k] === undefined) throw new Error(`connection file ${path} lacks ${k}`);
  }
  return { transport: 'tcp', ip: '127.0.0.1', key: '', signature_scheme: 'hmac-sha256', ...info } as ConnectionInfo;
}
