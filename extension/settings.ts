/** The extension's settings (contributes.configuration in package.json), read in one place. */
import * as vscode from 'vscode';
import { configMagic, type SamplingDefaults } from './execution/sampling';

export interface Settings {
  modelPath: string;
  executionProvider: 'auto' | 'cpu' | 'cuda';
  threads: number;
  streaming: boolean;
  nodePath: string;
  sampling: SamplingDefaults;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('anygpt');
  return {
    modelPath: c.get<string>('modelPath', ''),
    executionProvider: c.get<'auto' | 'cpu' | 'cuda'>('executionProvider', 'cpu'),
    threads: c.get<number>('threads', 0),
    streaming: c.get<boolean>('streaming', true),
    nodePath: c.get<string>('nodePath', ''),
    sampling: c.get<SamplingDefaults>('defaultSampling', {}) ?? {},
  };
}

export function samplingConfigMagic(s: Settings): string {
  return configMagic(s.sampling);
}
