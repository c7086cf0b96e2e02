/** `metadata.anygpt` of a cell's outputs: what makes a result reproducible (model hash, engine, parameters, seed). */
import type { Generation } from '../../../common/generation';
import type { OutputMetadata } from '../../../common/output-payloads';
import type { ModelDescription } from '../backend';
import type { CellPlan } from './plan';

export const KERNEL_VERSION = '0.1.0';

export type Timings = Record<string, number>;

export interface MetadataInput {
  model: ModelDescription;
  plan: CellPlan;
  cellId?: string;
  timings: Timings;
  warnings: readonly string[];
}

/** Metadata of a generating (or %tokens) cell; with `generation`, its token counts, speed and stop reason. */
export function cellMetadata(
  { model, plan, cellId, timings, warnings }: MetadataInput,
  generation?: Generation,
  promptTokens = 0,
): { anygpt: OutputMetadata } {
  const anygpt: OutputMetadata = {
    model: model.name,
    modelHash: model.hash,
    modelDir: model.dir,
    engineVersion: model.engineVersion,
    kernelVersion: KERNEL_VERSION,
    executionProvider: model.executionProvider,
    task: plan.context.task,
    outputModality: plan.outputModality,
    params: plan.params,
    seed: plan.seed,
    seedExplicit: plan.seedExplicit,
    notebookSeed: plan.notebookSeed,
    promptTokens: generation?.promptLength ?? promptTokens,
    generatedTokens: generation ? generation.tokens.length - generation.promptLength : 0,
    tokensPerSecond: generation?.stats.tokensPerSecond ?? 0,
    timings: roundTimings(timings),
    cellId,
    ...(warnings.length ? { warnings: [...warnings] } : {}),
    ...(plan.droppedTurns?.length ? { droppedTurns: [...plan.droppedTurns] } : {}),
  };
  if (generation) anygpt.stopReason = generation.stopReason;
  return { anygpt };
}

/** Metadata of a %decode cell: no prompt, no parameters. */
export function decodeMetadata(model: ModelDescription, timings: Timings, warnings: readonly string[]) {
  return {
    anygpt: {
      model: model.name,
      modelHash: model.hash,
      engineVersion: model.engineVersion,
      kernelVersion: KERNEL_VERSION,
      executionProvider: model.executionProvider,
      task: 'decode',
      timings: roundTimings(timings),
      ...(warnings.length ? { warnings: [...warnings] } : {}),
    },
  };
}

function roundTimings(t: Timings): Timings {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
