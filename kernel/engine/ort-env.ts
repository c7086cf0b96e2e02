/**
 * Imported (for its side effect) by every module that opens an onnxruntime session, before the first one opens.
 * onnxruntime 1.30's Linux library carries Microsoft's 1DS telemetry client: when ORT creates its environment
 * it initialises that client, which writes an (empty) `mat-debug-<pid>.log` and a `.ses` session file into the
 * temporary folder and may try to upload over HTTPS. The library skips all of it when ORT_DISABLE_TELEMETRY is
 * set, which it reads when the environment is created (not at load). The project runs with no network at run
 * time and leaves no files behind, so it is always set.
 */
process.env.ORT_DISABLE_TELEMETRY = '1';
