/**
 * Image worker of `predict`: receives `{ id, job }` (an {@linkcode ImageJob}), answers
 * `{ id, result }` or `{ id, error }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type ImageJob, resultTransfers, runImageJob } from "./image_jobs.ts";

self.onmessage = async (e: MessageEvent<{ id: number; job: ImageJob }>) => {
  const { id, job } = e.data;
  try {
    const result = await runImageJob(job);
    self.postMessage({ id, result }, resultTransfers(result));
  } catch (err) {
    self.postMessage({ id, error: (err as Error).message ?? String(err) });
  }
};
