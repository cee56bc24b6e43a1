/**
 * Loader worker: receives `{ id, job }`, answers `{ id, result }` (a sample) or `{ id, error }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { loadSample, type SampleJob } from "./sample.ts";

self.onmessage = async (e: MessageEvent<{ id: number; job: SampleJob }>) => {
  const { id, job } = e.data;
  try {
    const sample = await loadSample(job);
    const transfer = [sample.image.buffer, sample.mask.buffer] as ArrayBuffer[];
    self.postMessage({ id, result: sample }, transfer);
  } catch (err) {
    self.postMessage({ id, error: (err as Error).message ?? String(err) });
  }
};
