import { ConfusionMatrix, formatMetrics, nanmean } from "./confusion_matrix.ts";
import { assert, assertClose, assertEquals, assertThrows } from "../../tests/assert.ts";

// target rows x prediction columns, from the 7 counted pixels below:
//   t0: [2, 1, 0]   t1: [0, 1, 1]   t2: [1, 0, 1]
const TARGET = new Uint8Array([0, 0, 0, 1, 1, 2, 255, 2]);
const PRED = new Int32Array([0, 0, 1, 1, 2, 2, 0, 0]);

Deno.test("confusion matrix: counts and hand-computed metrics", () => {
  const cm = new ConfusionMatrix(3).update(PRED, TARGET);
  assertEquals(Array.from(cm.matrix), [2, 1, 0, 0, 1, 1, 1, 0, 1]);
  const m = cm.compute();
  assertClose([m.pixelAccuracy], [4 / 7], { atol: 1e-12 });
  assertClose(m.classAccuracy, [2 / 3, 1 / 2, 1 / 2], { atol: 1e-12 });
  assertClose([m.meanAccuracy], [5 / 9], { atol: 1e-12 });
  assertClose(m.iou, [1 / 2, 1 / 3, 1 / 3], { atol: 1e-12 });
  assertClose([m.meanIoU], [7 / 18], { atol: 1e-12 });
  assertClose([m.fwIoU], [17 / 42], { atol: 1e-12 });
  assertClose(m.f1, [2 / 3, 1 / 2, 1 / 2], { atol: 1e-12 });
  assertClose([m.meanF1], [5 / 9], { atol: 1e-12 });
});

Deno.test("confusion matrix: absent classes are NaN and left out of the means", () => {
  // Class 2 is predicted but never in the target; class 3 is in neither.
  const m = new ConfusionMatrix(4).update([0, 1, 2, 1], [0, 1, 1, 1]).compute();
  assertEquals(m.classAccuracy, [1, 2 / 3, NaN, NaN]);
  assertEquals(m.iou, [1, 2 / 3, 0, NaN]);
  assertClose([m.meanIoU], [(1 + 2 / 3 + 0) / 3], { atol: 1e-12 });
  assertClose([m.meanAccuracy], [(1 + 2 / 3) / 2], { atol: 1e-12 });
  assertEquals(m.f1, [1, 0.8, 0, NaN]);
  assertClose([m.fwIoU], [0.25 * 1 + 0.75 * (2 / 3)], { atol: 1e-12 });
  assertEquals(nanmean([NaN, NaN]), NaN);
  assertEquals(new ConfusionMatrix(2).compute().meanIoU, NaN);
});

Deno.test("confusion matrix: merge, reset, custom ignore index and errors", () => {
  const a = new ConfusionMatrix(3).update(PRED.subarray(0, 4), TARGET.subarray(0, 4));
  const b = new ConfusionMatrix(3).update(PRED.subarray(4), TARGET.subarray(4));
  assertEquals(Array.from(a.merge(b).matrix), [2, 1, 0, 0, 1, 1, 1, 0, 1]);
  a.reset();
  assertEquals(a.matrix.every((v) => v === 0), true);
  const c = new ConfusionMatrix(2, { ignoreIndex: -1 }).update([1, 0], [-1, 0]);
  assertEquals(Array.from(c.matrix), [1, 0, 0, 0]);
  assertThrows(() => new ConfusionMatrix(2).update([0], [0, 1]), "same size");
  assertThrows(() => new ConfusionMatrix(2).update([0], [7]), "Target 7 at index 0");
  assertThrows(() => new ConfusionMatrix(2).update([3], [1]), "Prediction 3 at index 0");
  assertThrows(() => new ConfusionMatrix(0), "numClasses");
});

Deno.test("confusion matrix: the table names the classes and shows percentages", () => {
  const text = formatMetrics(new ConfusionMatrix(3).update(PRED, TARGET).compute(), [
    "background",
    "cat",
    "dog",
  ]);
  const lines = text.split("\n");
  assertEquals(lines[1].split(/\s+/), ["background", "50.00", "66.67", "66.67"]);
  assertEquals(lines[4].split(/\s+/), ["mean", "38.89", "55.56", "55.56"]);
  assert(lines[5].includes("57.14") && lines[5].includes("40.48"), text);
});
