/**
 * Entry of the engine worker thread (bundled to dist/engine-worker.js). ORT's run() blocks the thread it runs
 * on, so every session lives here and the kernel's main thread stays free for heartbeats and interrupts.
 * Other rooms register their operations here too (kernel/codecs: media encode/decode, codec-ops.ts).
 */
import { registerCodecOps } from './codec-ops';
import { registerEngineOps } from './worker-ops';
import { serve } from './worker-host';

registerEngineOps();
registerCodecOps();
serve();
