import { benchLoader } from "../lib/data/bench_loader.ts";
for (const workers of [0, 1, 2, 0, 1]) {
  const t = performance.now();
  const big = await benchLoader("fixtures/synthetic", { batchSize: 8, workers, crop: 320, baseSize: 352, epochs: 3 });
  console.log(`workers ${workers}: ${big.toFixed(1)} img/s (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
