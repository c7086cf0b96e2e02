/** What beam search and beam-sample share: a beam, and extending the chosen beams by one token each. */
import type { ModalityConstraints, SpanState } from './constraints';
import type { DecodeContext } from './decode-context';
import type { KvCache } from './llm';
import type { GeneratedStep } from './record';
import type { SeenSet } from './sampling';

export interface Beam {
  steps: GeneratedStep[];
  /** Running score (beam-sample: the warped one). */
  score: number;
  logits: Float32Array;
  cache: KvCache;
  state: SpanState;
  seen: SeenSet;
}

/** A beam chosen to continue with token `id`, its new score and the token's record. */
export interface Continuation {
  parent: Beam;
  id: number;
  score: number;
  rec: GeneratedStep;
}

/** The chosen continuations as beams, each run one step through the LLM (not on the last step: nothing follows). */
export async function growBeams(
  chosen: readonly Continuation[],
  llm: DecodeContext['llm'],
  constraints: ModalityConstraints,
  isLast: boolean,
): Promise<Beam[]> {
  const grown: Beam[] = [];
  for (const n of chosen) {
    const seen = n.parent.seen.clone();
    seen.add(n.id);
    const base = {
      steps: [...n.parent.steps, n.rec],
      score: n.score,
      state: constraints.next(n.parent.state, n.id),
      seen,
    };
    if (isLast) grown.push({ ...base, logits: n.parent.logits, cache: n.parent.cache });
    else {
      const r = await llm.forward([n.id], n.parent.cache);
      grown.push({ ...base, logits: r.logits, cache: r.cache });
    }
  }
  return grown;
}
