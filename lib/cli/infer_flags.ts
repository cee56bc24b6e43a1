/**
 * The `--tile`, `--overlap` and `--tta` flags of `predict`: sliding windows and test-time
 * augmentation (lib/infer/tta.ts).
 *
 * @module
 */
import type { InferOptions } from "../infer/tta.ts";
import { type FlagSpec, UsageError } from "./flags.ts";

/** `--tile`, `--overlap`, `--tta`, for the flag table of `predict`. */
export const INFER_FLAGS: FlagSpec[] = [
  {
    name: "tile",
    type: "int",
    min: 1,
    help: "segment in sliding windows of S x S pixels (logits averaged where they overlap); " +
      "memory then follows S and the image width, not its area",
  },
  {
    name: "overlap",
    type: "number",
    min: 0,
    help: "with --tile: fraction of a window shared with the next, in [0, 1) (default 1/3)",
  },
  {
    name: "tta",
    type: "string",
    help: "test-time augmentation: mean of the logits over {1, the scales} x {plain, mirrored " +
      'with "flip"}, e.g. flip,0.75,1.25',
  },
];

/** `"flip,0.75,1.25"` -> `{ flip: true, scales: [1, 0.75, 1.25] }` (scale 1 always included). */
export function parseTta(spec: string): { flip: boolean; scales: number[] } {
  const scales = [1];
  let flip = false;
  for (const token of spec.split(",").map((t) => t.trim())) {
    const s = Number(token);
    if (token === "flip") flip = true;
    else if (token !== "" && Number.isFinite(s) && s > 0) scales.push(s);
    else {
      throw new UsageError(
        `--tta "${spec}": "${token}" is neither "flip" nor a positive scale (e.g. flip,0.75,1.25)`,
      );
    }
  }
  return { flip, scales: [...new Set(scales)] };
}

/** The inference options the flags ask for, or null when predict runs whole images plainly. */
export function inferFromFlags(values: Record<string, unknown>): InferOptions | null {
  const { tile, overlap, tta } = values as { tile?: number; overlap?: number; tta?: string };
  if (overlap !== undefined && tile === undefined) throw new UsageError("--overlap needs --tile");
  if (overlap !== undefined && overlap >= 1) {
    throw new UsageError(`--overlap must be below 1 but got ${overlap}`);
  }
  if (tile === undefined && tta === undefined) return null;
  return { tile, overlap, ...(tta === undefined ? {} : parseTta(tta)) };
}
