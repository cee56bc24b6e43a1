/**
 * The per-class parts of `report.html`: an IoU bar chart (inline SVG) and the confusion-matrix
 * heatmap (an HTML table), both sized to stay readable at 21 classes and more.
 *
 * @module
 */

/** Escapes text for HTML and SVG. */
export const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

const pct = (v: number, digits = 1) => (Number.isFinite(v) ? (v * 100).toFixed(digits) : "–");

/**
 * A horizontal bar chart of per-class IoU: one 18-px row per class with its id, name, bar and
 * value in %, and the mean over the classes present as a dashed line.
 *
 * @example
 * ```ts
 * import { iouChart } from "./report_charts.ts";
 * import { assert } from "../../tests/assert.ts";
 *
 * const svg = iouChart(["background", "cat"], [0.9, 0.4512]);
 * assert(svg.includes(">1 cat</text>") && svg.includes(">45.1</text>"));
 * ```
 */
export function iouChart(names: readonly string[], iou: readonly number[]): string {
  const row = 18, label = 150, barW = 300, top = 20, w = label + barW + 60;
  const h = top + row * names.length + 8;
  const present = iou.filter(Number.isFinite);
  const mean = present.length ? present.reduce((a, b) => a + b, 0) / present.length : NaN;
  const rows = names.map((n, c) => {
    const y = top + c * row, v = iou[c];
    const bar = Number.isFinite(v)
      ? `<rect x="${label}" y="${y + 3}" width="${(v * barW).toFixed(1)}" height="${row - 6}" ` +
        `fill="${v >= 0.5 ? "#2ca02c" : "#d62728"}"><title>${esc(n)}: IoU ${
          pct(v, 2)
        }%</title></rect>`
      : "";
    return `<text x="${label - 6}" y="${y + 13}" text-anchor="end" font-size="11">${c} ` +
      `${esc(n)}</text>${bar}<text x="${label + barW + 6}" y="${y + 13}" font-size="11">` +
      `${pct(v)}</text>`;
  }).join("");
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    `<line x1="${label + f * barW}" x2="${label + f * barW}" y1="${top}" y2="${h - 8}" ` +
    `stroke="#eee"/><text x="${label + f * barW}" y="${top - 6}" text-anchor="middle" ` +
    `font-size="10">${f * 100}</text>`
  ).join("");
  const meanLine = Number.isFinite(mean)
    ? `<line x1="${label + mean * barW}" x2="${label + mean * barW}" y1="${top}" y2="${h - 8}" ` +
      `stroke="#333" stroke-dasharray="4 3"><title>mean IoU ${pct(mean, 2)}%</title></line>`
    : "";
  return `<figure class="iou"><figcaption>IoU per class (%)</figcaption><svg ` +
    `xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `${grid}${rows}${meanLine}</svg></figure>`;
}

/**
 * The confusion matrix as a heatmap table: rows are the true classes, columns the predicted
 * ones; each cell shows the share of its row's pixels in % (shaded by it; diagonal green,
 * errors red) and its pixel count on hover.
 *
 * @example
 * ```ts
 * import { confusionHeatmap } from "./report_charts.ts";
 * import { assert } from "../../tests/assert.ts";
 *
 * // truth 0: 3 px right, 1 px as class 1; truth 1: 2 px right
 * const html = confusionHeatmap(["bg", "cat"], new Float64Array([3, 1, 0, 2]));
 * assert(html.includes(">75.0</td>") && html.includes('title="bg predicted as cat: 1 px (25.0%)"'));
 * ```
 */
export function confusionHeatmap(names: readonly string[], confusion: ArrayLike<number>): string {
  const k = names.length;
  const head = names.map((n, c) => `<th class="p" title="predicted ${esc(n)}">${c} ${esc(n)}</th>`)
    .join("");
  const rows = names.map((n, t) => {
    let total = 0;
    for (let p = 0; p < k; p++) total += confusion[t * k + p];
    const cells = names.map((m, p) => {
      const count = confusion[t * k + p], share = total > 0 ? count / total : NaN;
      const alpha = Number.isFinite(share) ? share.toFixed(3) : "0";
      const color = t === p ? `rgba(44,160,44,${alpha})` : `rgba(214,39,40,${alpha})`;
      const title = `${esc(n)} predicted as ${esc(m)}: ${count} px (${pct(share)}%)`;
      return `<td style="background:${color}" title="${title}">${count > 0 ? pct(share) : ""}</td>`;
    }).join("");
    return `<tr><th title="${total} px">${t} ${esc(n)}</th>${cells}</tr>`;
  }).join("");
  return `<table class="cm"><tr><th>truth \\ predicted</th>${head}</tr>${rows}</table>`;
}

/** The style of the charts, for the page's `<style>`. */
export const CHART_CSS =
  `table.cm{border-collapse:collapse;font-size:11px}table.cm td{width:34px;height:20px;` +
  `text-align:center;border:1px solid #f4f4f4;padding:0}table.cm th{font-weight:500;` +
  `text-align:right;padding:0 6px;white-space:nowrap}table.cm th.p{writing-mode:vertical-rl;` +
  `transform:rotate(180deg);text-align:left;padding:4px 0;height:auto}`;
