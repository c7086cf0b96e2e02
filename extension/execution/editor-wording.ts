/**
 * Messages that reach the editor name the setting or command to change, not a command-line flag or an
 * environment variable: the engine's CLI and the kernel word their errors for a terminal ("Check --model."),
 * and the same text in VS Code would send the user looking for a flag they cannot pass.
 */
const RULES: [RegExp, string][] = [
  [/\bCheck --model\./g, 'Pick a folder that contains anygpt.json with "AnyGPT: Select Model".'],
  [/run `anygpt-kernel install --model DIR`/g, 'run "AnyGPT: Select Model" (the anygpt.modelPath setting)'],
  [/\b(?:pass|use) --model DIR\b/g, 'run "AnyGPT: Select Model" (the anygpt.modelPath setting)'],
  [/--model DIR\b/g, 'the anygpt.modelPath setting'],
  [/(?:--model|ANYGPT_MODEL)\b/g, 'the anygpt.modelPath setting'],
  [/(?:--ep|ANYGPT_EP)\b/g, 'the anygpt.executionProvider setting'],
  [/(?:--threads|ANYGPT_THREADS)\b/g, 'the anygpt.threads setting'],
];

export function forEditor(message: string): string {
  let s = message;
  for (const [re, to] of RULES) s = s.replace(re, to);
  // "set the anygpt.modelPath setting" reads twice; one "setting" is enough
  return s.replace(/\bset the (anygpt\.\w+) setting\b/g, 'set $1');
}
