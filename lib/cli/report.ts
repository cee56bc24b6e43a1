/**
 * `report.html`: a self-contained page (inline SVG and images, no network) with the training
 * curves, the per-class IoU chart, the confusion-matrix heatmap and validation samples.
 *
 * @module
 */
import { CHART_CSS, confusionHeatmap, esc, iouChart } from "./report_charts.ts";

/** One epoch's entry of `history.jsonl`. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  pixelAccuracy: number;
  meanIoU: number;
  seconds: number;
  [key: string]: unknown;
}

/** A validation sample: PNG bytes of the image and of both overlays. */
export interface ReportSample {
  id: string;
  image: Uint8Array;
  truth: Uint8Array;
  prediction: Uint8Array;
}

/** What the report shows. */
export interface ReportData {
  title: string;
  history: EpochRecord[];
  classNames: readonly string[];
  /** Last epoch's per-class IoU (NaN where the class is absent). */
  iou: number[];
  /** Last epoch's confusion matrix `[K, K]` (`[truth * K + prediction]`), pixel counts. */
  confusion?: ArrayLike<number>;
  samples: ReportSample[];
  /** Settings shown at the top. */
  settings: Record<string, unknown>;
}

/** An SVG line chart of one or more series over epochs. */
export function lineChart(
  title: string,
  xs: number[],
  series: { name: string; values: number[]; color: string }[],
): string {
  const w = 420, h = 240, l = 48, r = 12, t = 28, b = 32;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all, Infinity), hi = Math.max(...all, -Infinity);
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const px = (x: number) => l + (w - l - r) * (x - x0) / (x1 - x0);
  const py = (y: number) => t + (h - t - b) * (1 - (y - lo) / (hi - lo));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  const grid = ticks.map((y) =>
    `<line x1="${l}" x2="${w - r}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/>` +
    `<text x="${l - 4}" y="${py(y) + 4}" text-anchor="end" font-size="10">${
      y.toPrecision(3)
    }</text>`
  ).join("");
  const lines = series.map((s, k) => {
    const pts = xs.map((x, i) => [x, s.values[i]]).filter(([, y]) => Number.isFinite(y));
    const d = pts.map(([x, y], i) => `${i ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join("");
    const dots = pts.map(([x, y]) =>
      `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`
    ).join("");
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}` +
      `<text x="${l + 8 + k * 110}" y="${t - 10}" font-size="11" fill="${s.color}">${
        esc(s.name)
      }</text>`;
  }).join("");
  const xl = xs.map((x) =>
    `<text x="${px(x)}" y="${h - b + 14}" text-anchor="middle" font-size="10">${x}</text>`
  ).join("");
  return `<figure><figcaption>${
    esc(title)
  }</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${grid}${lines}${xl}<text x="${
    (w + l) / 2
  }" y="${h - 4}" text-anchor="middle" font-size="11">epoch</text></svg></figure>`;
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** The whole page. */
export function renderReport(d: ReportData): string {
  const xs = d.history.map((h) => h.epoch);
  const col = (k: keyof EpochRecord) => d.history.map((h) => Number(h[k]));
  const charts = [
    lineChart("Loss", xs, [
      { name: "train loss", values: col("trainLoss"), color: "#1f77b4" },
      { name: "val loss", values: col("valLoss"), color: "#ff7f0e" },
    ]),
    lineChart("Validation", xs, [
      { name: "mIoU", values: col("meanIoU"), color: "#2ca02c" },
      { name: "pixel accuracy", values: col("pixelAccuracy"), color: "#d62728" },
    ]),
  ].join("");
  const last = d.history.at(-1);
  const samples = d.samples.map((s) =>
    `<div class="s"><div>${esc(s.id)}</div><img src="data:image/png;base64,${
      b64(s.image)
    }" title="image"><img src="data:image/png;base64,${b64(s.truth)}" title="ground truth">` +
    `<img src="data:image/png;base64,${b64(s.prediction)}" title="prediction"></div>`
  ).join("");
  const settings = Object.entries(d.settings).map(([k, v]) =>
    `<code>${esc(k)}=${esc(String(v))}</code>`
  ).join(" ");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.title)}</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}figure{display:inline-block;margin:0 16px 16px 0}
figcaption{font-weight:600}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
${CHART_CSS}.s{display:inline-block;margin:0 12px 12px 0;font-size:12px}
.s img{display:block;image-rendering:pixelated;width:160px;margin-top:2px}code{margin-right:8px}</style></head><body>
<h1>${esc(d.title)}</h1><p>${settings}</p>
${
    last
      ? `<p>Epoch ${last.epoch}: mIoU <b>${(last.meanIoU * 100).toFixed(2)}%</b>, pixel accuracy ${
        (last.pixelAccuracy * 100).toFixed(2)
      }%, val loss ${last.valLoss.toFixed(4)}</p>`
      : ""
  }
${charts}
<h2>Per-class IoU</h2>${iouChart(d.classNames, d.iou)}
${
    d.confusion
      ? `<h2>Confusion matrix</h2><p>% of each true class's pixels (rows) per predicted class ` +
        `(columns); hover for pixel counts</p>${confusionHeatmap(d.classNames, d.confusion)}`
      : ""
  }
<h2>Validation samples</h2><p>image, ground truth, prediction</p>${samples}
</body></html>`;
}
