/**
 * The combined engine + codecs package for media tests: the LLM half from test/fixtures/engine/media
 * (make_media_fixture.py) plus the codec graphs of test/fixtures/codecs, copied together into a temporary
 * directory (a package may only name files inside itself, and the codec binaries are not duplicated in git).
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const LLM_HALF = path.join(__dirname, '..', 'fixtures', 'engine', 'media');
const CODECS = path.join(__dirname, '..', 'fixtures', 'codecs');
const made: string[] = [];

/** A fresh package directory; removed by cleanupMediaPackages(). */
export function mediaPackage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'anygpt-media-'));
  cpSync(LLM_HALF, dir, { recursive: true });
  for (const f of readdirSync(CODECS)) if (/\.(onnx|f32)$/.test(f)) cpSync(path.join(CODECS, f), path.join(dir, f));
  made.push(dir);
  return dir;
}

export function cleanupMediaPackages(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
