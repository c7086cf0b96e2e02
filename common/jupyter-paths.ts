/** Where Jupyter keeps per-user data (kernelspecs), shared by the kernel's installer and the extension's upkeep. */
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';

/** Jupyter's per-user data dir (jupyter_core.paths.jupyter_data_dir). */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return resolve(process.env.JUPYTER_DATA_DIR);
  const home = homedir();
  if (platform() === 'darwin') return join(home, 'Library', 'Jupyter');
  if (platform() === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'jupyter');
  return join(process.env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'jupyter');
}
