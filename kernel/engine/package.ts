/**
 * Model packages: load a directory with `anygpt.json`, validate everything, derive the vocabulary,
 * and compute the model identity. Any problem is one PackageError naming the file, the field and what was expected.
 *
 * The ONNX names/shapes check needs a session, so it is a separate pure function (checkLlmGraph) that the
 * worker calls on the session's metadata right after creating it.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, type LlmSpec, type Manifest } from '../../common/manifest';
import { fileIdentity, nowNs, sha256File, StampStore, stampDir } from './integrity';
import { PackageError, referencedFiles, validateManifest } from './manifest-schema';
import { TextTokenizer } from './tokenizer';
import { Vocabulary } from './vocab';

export { PackageError } from './manifest-schema';

export interface ModelPackage {
  dir: string;
  manifest: Manifest;
  /** sha256 identity (docs/model-package.md "Identity"), hex. */
  hash: string;
  tokenizer: TextTokenizer;
  vocab: Vocabulary;
  /** Absolute path of a file named by the manifest. */
  resolve(rel: string): string;
  /** Package load time, ms. */
  loadMs: number;
  /** How the files were verified on this load (what was read, what a stamp vouched for). */
  verify: VerifyReport;
}

export interface LoadOptions {
  /** Hash every file (identity + sha256 checks). The worker skips it: the main thread already did it. */
  hashFiles?: boolean;
  /** Identity to use when hashFiles is false. */
  knownHash?: string;
  /**
   * The llm.variants entry the engine will run (undefined: llm.graph). Only that graph's files are read; the
   * other LLM graphs enter the identity through their manifest sha256 (read anyway if the manifest has none).
   */
  llmVariant?: string;
  /**
   * `stamp` (default): trust a file whose size, mtime, ctime and inode match the stamp of its last successful
   * hash (kernel/engine/integrity.ts). `full`: read and check every file of the package, every variant included,
   * and refresh the stamp.
   */
  verify?: 'stamp' | 'full';
  /** Stamp directory (default: the user's cache, see integrity.stampDir). */
  stampDir?: string;
}

export interface VerifyReport {
  mode: 'stamp' | 'full' | 'off';
  /** Files read and hashed on this load, in manifest order (package-relative paths). */
  hashed: string[];
  hashedBytes: number;
  /** Files whose hash came from a valid stamp (not read). */
  stamped: string[];
  /** Files of LLM graphs this load does not run, not read (their manifest sha256 is used for the identity). */
  unused: string[];
  /** Time spent stat-ing and hashing, ms. */
  ms: number;
  /** The stamp file, and why it could not be written if so (then the next load hashes again). */
  stampFile?: string;
  stampError?: string;
}

/** Hashes verified in this process, by file identity: reloads are free even where no stamp can be written. */
const verifiedInProcess = new Map<string, string>();

/** Whether manifest field `field` (from referencedFiles) belongs to an LLM graph other than the one that runs. */
function unusedLlmFile(field: string, variant: string | undefined): boolean {
  const own = (prefix: string) => field === prefix || field.startsWith(`${prefix}.externalData[`);
  if (own('llm.graph')) return variant !== undefined;
  if (field.startsWith('llm.variants.')) return variant === undefined || !own(`llm.variants.${variant}`);
  return false;
}

export async function loadPackage(dirIn: string, opts: LoadOptions = {}): Promise<ModelPackage> {
  const t0 = performance.now();
  const dir = path.resolve(dirIn);
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    throw new PackageError(`${dirIn}: model package directory not found`);
  }
  if (!st.isDirectory()) throw new PackageError(`${dirIn}: expected a model package directory, got a file`);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(manifestPath);
  } catch {
    throw new PackageError(
      `${MANIFEST_FILE}: not found in ${dir} (a model package is a directory with ${MANIFEST_FILE})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new PackageError(`${MANIFEST_FILE}: not valid JSON: ${(e as Error).message}`);
  }
  const manifest = validateManifest(json);
  const resolve = (rel: string) => path.join(dir, rel);
  const variant = opts.llmVariant;
  if (variant !== undefined && !manifest.llm.variants?.[variant]) {
    const names = Object.keys(manifest.llm.variants ?? {});
    throw new PackageError(
      `llmVariant ${JSON.stringify(variant)}: anygpt.json llm.variants has ${names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'no variants'}`,
    );
  }

  // Files exist, hashes match; identity = sha256(manifest ‖ path ‖ sha256(file) …).
  const hashing = opts.hashFiles !== false;
  const full = opts.verify === 'full';
  const tv = performance.now();
  const verify: VerifyReport = {
    mode: hashing ? (full ? 'full' : 'stamp') : 'off',
    hashed: [],
    hashedBytes: 0,
    stamped: [],
    unused: [],
    ms: 0,
  };
  let stamps: StampStore | null = null;
  if (hashing) {
    const manifestSha = createHash('sha256').update(bytes).digest('hex');
    stamps = await StampStore.open(dir, manifestSha, stampDir(opts.stampDir));
    verify.stampFile = stamps.file;
  }
  const identity = createHash('sha256').update(bytes);
  for (const { field, ref } of referencedFiles(manifest)) {
    const abs = resolve(ref.path);
    let fst;
    try {
      fst = await fs.stat(abs, { bigint: true });
    } catch {
      throw new PackageError(`${ref.path}: file named by anygpt.json ${field}.path does not exist in ${dir}`);
    }
    if (!fst.isFile())
      throw new PackageError(`${ref.path}: anygpt.json ${field}.path: expected a file, got a directory`);
    if (!stamps) continue;
    if (!full && ref.sha256 && unusedLlmFile(field, variant)) {
      verify.unused.push(ref.path);
      identity.update(ref.path).update(ref.sha256);
      continue;
    }
    const id = fileIdentity(fst);
    const memoKey = `${abs}\0${JSON.stringify(id)}`;
    // A full check reads every file whatever the stamp says, and refreshes the stamp with what it read.
    let got = full ? undefined : (stamps.lookup(ref.path, id) ?? verifiedInProcess.get(memoKey));
    if (got !== undefined && (!ref.sha256 || ref.sha256 === got)) {
      verify.stamped.push(ref.path);
    } else {
      const start = nowNs();
      got = await sha256File(abs);
      verify.hashed.push(ref.path);
      verify.hashedBytes += Number(fst.size);
      if (ref.sha256 && ref.sha256 !== got) {
        stamps.forget(ref.path);
        await stamps.save().catch(() => {});
        throw new PackageError(
          `${ref.path}: sha256 mismatch: anygpt.json ${field}.sha256 expects ${ref.sha256}, the file has ${got}`,
        );
      }
      if (stamps.record(ref.path, id, got, start)) verifiedInProcess.set(memoKey, got);
    }
    identity.update(ref.path).update(got);
  }
  if (stamps) {
    try {
      await stamps.save();
    } catch (e) {
      verify.stampError = (e as Error).message;
    }
  }
  verify.ms = performance.now() - tv;
  const hash = hashing ? identity.digest('hex') : (opts.knownHash ?? '');

  const tokFile = manifest.tokenizer.file.path;
  let tokJson: unknown;
  try {
    tokJson = JSON.parse(await fs.readFile(resolve(tokFile), 'utf8'));
  } catch (e) {
    throw new PackageError(`${tokFile}: not valid JSON: ${(e as Error).message}`);
  }
  let tokConfig: unknown = {};
  if (manifest.tokenizer.config) {
    const cf = manifest.tokenizer.config.path;
    try {
      tokConfig = JSON.parse(await fs.readFile(resolve(cf), 'utf8'));
    } catch (e) {
      throw new PackageError(`${cf}: not valid JSON: ${(e as Error).message}`);
    }
  }
  const tokenizer = new TextTokenizer(tokJson, tokConfig, tokFile);
  const vocab = new Vocabulary(manifest, tokenizer, tokFile);
  return { dir, manifest, hash, tokenizer, vocab, resolve, loadMs: performance.now() - t0, verify };
}

/** What checkLlmGraph needs from an ORT session (InferenceSession.inputMetadata/outputMetadata). */
export interface GraphMeta {
  inputs: { name: string; type?: string; shape?: readonly (number | string)[] }[];
  outputs: { name: string; type?: string; shape?: readonly (number | string)[] }[];
}

export interface LlmGraphInfo {
  hasPositionIds: boolean;
  /** Known statically: logits for the last position only ([1,1,V]). Otherwise decided per run from the output dims. */
  lastTokenLogitsOnly: boolean;
}

/** Checks the LLM graph's names, types and static dims against the manifest (docs/model-package.md "LLM graph"). */
export function checkLlmGraph(spec: LlmSpec, meta: GraphMeta, file = spec.graph.path): LlmGraphInfo {
  const fail = (msg: string): never => {
    throw new PackageError(`${file}: ${msg}`);
  };
  const inputs = new Map(meta.inputs.map((m) => [m.name, m]));
  const outputs = new Map(meta.outputs.map((m) => [m.name, m]));
  const kvType = spec.kvDtype;
  const expectDims = (
    where: string,
    name: string,
    shape: readonly (number | string)[] | undefined,
    want: (number | null)[],
  ) => {
    if (!shape || shape.length === 0) return; // unknown shape: nothing to check
    if (shape.length !== want.length)
      fail(`${where} "${name}": expected rank ${want.length}, got shape [${shape.join(', ')}]`);
    want.forEach((w, i) => {
      const d = shape[i];
      if (w !== null && typeof d === 'number' && d !== w) {
        fail(
          `${where} "${name}": dim ${i} expected ${w}, got ${d} (shape [${shape.join(', ')}]; anygpt.json llm says ${describeSpec(spec)})`,
        );
      }
    });
  };
  const need = (
    map: Map<string, GraphMeta['inputs'][number]>,
    where: string,
    name: string,
    type: string,
    dims: (number | null)[],
  ) => {
    const m = map.get(name);
    if (!m)
      fail(
        `missing ${where} "${name}" (graph ${where}s: ${[...map.keys()].slice(0, 8).join(', ')}${map.size > 8 ? ', …' : ''})`,
      );
    if (m!.type && m!.type !== type) fail(`${where} "${name}": expected type ${type}, got ${m!.type}`);
    expectDims(where, name, m!.shape, dims);
  };
  need(inputs, 'input', 'input_ids', 'int64', [1, null]);
  need(inputs, 'input', 'attention_mask', 'int64', [1, null]);
  const hasPositionIds = inputs.has('position_ids');
  if (hasPositionIds) need(inputs, 'input', 'position_ids', 'int64', [1, null]);
  for (let i = 0; i < spec.numLayers; i++) {
    for (const kv of ['key', 'value']) {
      need(inputs, 'input', `past_key_values.${i}.${kv}`, kvType, [1, spec.numKvHeads, null, spec.headDim]);
      need(outputs, 'output', `present.${i}.${kv}`, kvType, [1, spec.numKvHeads, null, spec.headDim]);
    }
  }
  if (inputs.has(`past_key_values.${spec.numLayers}.key`)) {
    fail(
      `has more layers than anygpt.json llm.numLayers = ${spec.numLayers} (found input "past_key_values.${spec.numLayers}.key")`,
    );
  }
  need(outputs, 'output', 'logits', 'float32', [1, null, spec.vocabSize]);
  const known = new Set(['input_ids', 'attention_mask', 'position_ids']);
  for (const name of inputs.keys()) {
    if (!known.has(name) && !name.startsWith('past_key_values.'))
      fail(`unexpected input "${name}" (the engine feeds only the inputs in docs/model-package.md)`);
  }
  const logitsShape = outputs.get('logits')!.shape;
  return { hasPositionIds, lastTokenLogitsOnly: !!logitsShape && logitsShape[1] === 1 };
}

function describeSpec(s: LlmSpec): string {
  return `numLayers ${s.numLayers}, numKvHeads ${s.numKvHeads}, headDim ${s.headDim}, vocabSize ${s.vocabSize}`;
}
