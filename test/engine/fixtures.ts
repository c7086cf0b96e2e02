/** Paths of the engine fixtures (tools/fixtures/make_engine_fixtures.py) and helpers to make broken copies. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const DET = path.join(__dirname, '..', 'fixtures', 'engine', 'det');
export const LLAMA = path.join(__dirname, '..', 'fixtures', 'engine', 'llama');

const made: string[] = [];

/** A temporary copy of a fixture package, removed by cleanupCopies(). */
export function copyPackage(src: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'anygpt-pkg-'));
  cpSync(src, dir, { recursive: true });
  made.push(dir);
  return dir;
}

export function editJson(file: string, edit: (j: any) => void): void {
  const j = JSON.parse(readFileSync(file, 'utf8'));
  edit(j);
  writeFileSync(file, JSON.stringify(j, null, 1));
}

export function cleanupCopies(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
