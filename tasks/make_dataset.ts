/**
 * Regenerates the bundled synthetic dataset (deterministic):
 * `deno run -A tasks/make_dataset.ts [outDir=fixtures/synthetic]`.
 *
 * @module
 */
import { makeSyntheticDataset } from "../lib/data/synthetic.ts";

if (import.meta.main) {
  const out = Deno.args[0] ?? "fixtures/synthetic";
  const bytes = await makeSyntheticDataset(out);
  console.log(`Wrote ${out}/VOCdevkit (${(bytes / 1024).toFixed(0)} KiB)`);
}
