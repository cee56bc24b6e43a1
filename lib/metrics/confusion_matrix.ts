/**
 * Segmentation metrics from a confusion matrix: pixel accuracy, per-class and mean accuracy,
 * IoU and mean IoU, frequency-weighted IoU, F1 (Dice) and mean F1.
 *
 * @module
 */

/** Options of {@linkcode ConfusionMatrix}. */
export interface ConfusionMatrixOptions {
  /** Target value that is not counted (default 255). */
  ignoreIndex?: number;
}

/** Metrics of a {@linkcode ConfusionMatrix}. NaN marks classes absent from target and prediction. */
export interface SegmentationMetrics {
  /** Correct pixels / counted pixels. */
  pixelAccuracy: number;
  /** Per class: correct / pixels of the class in the target (NaN if none). */
  classAccuracy: number[];
  /** Mean of the defined class accuracies. */
  meanAccuracy: number;
  /** Per class: TP / (TP + FP + FN) (NaN if the class is in neither target nor prediction). */
  iou: number[];
  /** Mean of the defined IoUs. */
  meanIoU: number;
  /** Sum over classes of (target frequency x IoU). */
  fwIoU: number;
  /** Per class: 2 TP / (2 TP + FP + FN) (NaN like IoU). */
  f1: number[];
  /** Mean of the defined F1 scores. */
  meanF1: number;
}

/** Mean of the values that are not NaN (NaN when there are none). */
export function nanmean(values: readonly number[]): number {
  let s = 0, n = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  }
  return n === 0 ? NaN : s / n;
}

/**
 * A K x K matrix of pixel counts, rows = target class, columns = predicted class.
 *
 * @example
 * ```ts
 * import { ConfusionMatrix } from "./confusion_matrix.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const cm = new ConfusionMatrix(2);
 * cm.update(new Int32Array([0, 1, 1, 1]), new Uint8Array([0, 1, 0, 255]));
 * const m = cm.compute();
 * assertEquals(m.pixelAccuracy, 2 / 3);
 * assertEquals(m.iou, [0.5, 0.5]);
 * ```
 */
export class ConfusionMatrix {
  /** Number of classes K. */
  readonly numClasses: number;
  /** The target value that is skipped. */
  readonly ignoreIndex: number;
  /** Counts, `[K, K]` row-major: `matrix[t * K + p]`. */
  readonly matrix: Float64Array;

  /** An empty matrix for `numClasses` classes. */
  constructor(numClasses: number, options: ConfusionMatrixOptions = {}) {
    if (!(Number.isInteger(numClasses) && numClasses > 0)) {
      throw new RangeError(`Expected numClasses to be an integer > 0 but found ${numClasses}`);
    }
    this.numClasses = numClasses;
    this.ignoreIndex = options.ignoreIndex ?? 255;
    this.matrix = new Float64Array(numClasses * numClasses);
  }

  /**
   * Counts every pixel whose target is not `ignoreIndex`. `pred` and `target` are flat class
   * ids of the same length (e.g. `[N, H, W]` arrays).
   *
   * @throws RangeError for different lengths or class ids outside 0..K-1.
   */
  update(pred: ArrayLike<number>, target: ArrayLike<number>): this {
    if (pred.length !== target.length) {
      throw new RangeError(
        `Expected prediction and target of the same size but found ${pred.length} and ${target.length}`,
      );
    }
    const k = this.numClasses, m = this.matrix;
    for (let i = 0; i < target.length; i++) {
      const t = target[i];
      if (t === this.ignoreIndex) continue;
      const p = pred[i];
      if (!(t >= 0 && t < k && Number.isInteger(t))) {
        throw new RangeError(`Target ${t} at index ${i} is outside 0..${k - 1} (and not ignored)`);
      }
      if (!(p >= 0 && p < k && Number.isInteger(p))) {
        throw new RangeError(`Prediction ${p} at index ${i} is outside 0..${k - 1}`);
      }
      m[t * k + p]++;
    }
    return this;
  }

  /** Adds the counts of another matrix of the same size. */
  merge(other: ConfusionMatrix): this {
    if (other.numClasses !== this.numClasses) {
      throw new RangeError(`Cannot merge ${other.numClasses} classes into ${this.numClasses}`);
    }
    for (let i = 0; i < this.matrix.length; i++) this.matrix[i] += other.matrix[i];
    return this;
  }

  /** Zeroes the counts. */
  reset(): void {
    this.matrix.fill(0);
  }

  /** The metrics of the counts so far. */
  compute(): SegmentationMetrics {
    const k = this.numClasses, m = this.matrix;
    const rows = new Float64Array(k), cols = new Float64Array(k);
    let total = 0, correct = 0;
    for (let t = 0; t < k; t++) {
      for (let p = 0; p < k; p++) {
        const v = m[t * k + p];
        rows[t] += v;
        cols[p] += v;
        total += v;
      }
      correct += m[t * k + t];
    }
    const classAccuracy: number[] = [], iou: number[] = [], f1: number[] = [];
    let fwIoU = 0;
    for (let c = 0; c < k; c++) {
      const tp = m[c * k + c], union = rows[c] + cols[c] - tp;
      classAccuracy.push(rows[c] > 0 ? tp / rows[c] : NaN);
      iou.push(union > 0 ? tp / union : NaN);
      f1.push(union > 0 ? (2 * tp) / (rows[c] + cols[c]) : NaN);
      if (rows[c] > 0) fwIoU += (rows[c] / total) * iou[c];
    }
    return {
      pixelAccuracy: total > 0 ? correct / total : NaN,
      classAccuracy,
      meanAccuracy: nanmean(classAccuracy),
      iou,
      meanIoU: nanmean(iou),
      fwIoU: total > 0 ? fwIoU : NaN,
      f1,
      meanF1: nanmean(f1),
    };
  }
}

/**
 * A plain-text table of per-class IoU, accuracy and F1 (in %) and the summary lines.
 *
 * @example
 * ```ts
 * import { ConfusionMatrix, formatMetrics } from "./confusion_matrix.ts";
 * import { assert } from "../../tests/assert.ts";
 *
 * const m = new ConfusionMatrix(2).update([0, 1], [0, 1]).compute();
 * assert(formatMetrics(m, ["background", "cat"]).includes("cat"));
 * ```
 */
export function formatMetrics(
  metrics: SegmentationMetrics,
  classNames?: readonly string[],
): string {
  const names = metrics.iou.map((_, c) => classNames?.[c] ?? `class ${c}`);
  const width = Math.max(5, ...names.map((n) => n.length));
  const pct = (v: number) => (Number.isNaN(v) ? "-" : (100 * v).toFixed(2)).padStart(8);
  const lines = [`${"class".padEnd(width)}      IoU      Acc       F1`];
  names.forEach((n, c) => {
    lines.push(
      `${n.padEnd(width)} ${pct(metrics.iou[c])} ${pct(metrics.classAccuracy[c])} ${
        pct(metrics.f1[c])
      }`,
    );
  });
  lines.push(
    `${"mean".padEnd(width)} ${pct(metrics.meanIoU)} ${pct(metrics.meanAccuracy)} ${
      pct(metrics.meanF1)
    }`,
    `pixel accuracy ${pct(metrics.pixelAccuracy).trim()}  fwIoU ${pct(metrics.fwIoU).trim()}`,
  );
  return lines.join("\n");
}
