/**
 * The tuned conv kernel families: their candidates, defaults, shape classes, and the scaled-down
 * problems {@linkcode autotune} times them on. Every candidate is covered by the reference tests
 * in `conv_test.ts`.
 *
 * The candidates were picked by measurement on llvmpipe (Mesa 22.3, 2 cores, AVX-512) on the
 * VGG16/FCN layer shapes; the defaults are the best all-rounders there.
 *
 * @module
 */
import type { ConvGeom, KernelArgs, Storage } from "../../../device/backend.ts";
import type { WebGpuRuntime } from "../../../device/webgpu.ts";
import type { Family } from "../../autotune.ts";
import { directConv, type DirectProblem } from "./direct.ts";
import { directSource, type DirectTile, packSource } from "./direct_shaders.ts";
import { directGradWeight } from "./direct_weight.ts";
import { dyPackSource, weightSource, type WeightTile } from "./direct_weight_shaders.ts";
import { genericConv2d, genericGradInput, genericGradWeight } from "./generic.ts";
import {
  forwardSource,
  GENERIC_TILE,
  type GenericTile,
  gradInputSource,
  gradWeightSource,
} from "./generic_shaders.ts";

/** Multiply-adds a tuning run aims at (a few milliseconds on llvmpipe). */
const TUNE_MACS = 5e7;

/** Seeded values in [-1, 1) for tuning inputs (the values do not matter, only their count). */
function filler(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 2654435761) % 1000) / 500 - 1;
  return a;
}

/** `cache`'s value for `key`, made by `make` the first time it is asked for. */
function cached<K, V>(cache: Map<K, V>, key: K, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) cache.set(key, v = make());
  return v;
}

const sizeFamilies = new Map<string, unknown>();

/**
 * The family `conv.<kind>.<kh>x<kw>` of one kernel size (made once): its candidates from
 * `table`, the first of them the fallback, with the sources and bench `parts` gives.
 */
function sizeFamily<T>(
  kind: string,
  [kh, kw]: [number, number],
  table: Record<string, T[]>,
  parts: (candidates: T[]) => Pick<Family<T>, "sources" | "bench">,
): Family<T> {
  const name = `conv.${kind}.${kh}x${kw}`;
  return cached(sizeFamilies, name, () => {
    const candidates = table[`${kh}x${kw}`];
    return { name, candidates, fallback: candidates[0], ...parts(candidates) };
  }) as Family<T>;
}

/** Coarse classes of a size: exact when small, else one bucket. */
function sizeClass(prefix: string, v: number, exactUpTo: number): string {
  return v <= exactUpTo ? `${prefix}${v}` : `${prefix}>${exactUpTo}`;
}

// ---------------------------------------------------------------------------------------------
// Direct convolution (forward, and backward-data as a forward of dy).

const DIRECT_CANDIDATES: Record<string, DirectTile[]> = {
  "3x3": [
    { tc: 16, r: 4, p: 4, wg: 8 },
    { tc: 8, r: 4, p: 8, wg: 8 },
    { tc: 16, r: 2, p: 7, wg: 8 }, // no waste on 14- and 7-wide maps
  ],
  "1x1": [
    { tc: 24, r: 1, p: 8, wg: 8 }, // 21 classes: 3 lanes of padding
    { tc: 16, r: 1, p: 16, wg: 8 },
    { tc: 8, r: 1, p: 8, wg: 8 },
  ],
};

/** A direct problem, and whether its weights are read transposed (backward-data). */
export interface DirectCase {
  /** The convolution run. */
  d: DirectProblem;
  /** True for backward-data (weights read transposed and flipped). */
  transposed: boolean;
}

/** The family of the direct kernel for `kh x kw` kernels. */
export function directFamily(kh: number, kw: number): Family<DirectTile> {
  return sizeFamily("direct", [kh, kw], DIRECT_CANDIDATES, (candidates) => ({
    sources: () =>
      candidates.flatMap((t) => [
        directSource(kh, kw, t),
        ...(t.p % 4 === 0 ? [directSource(kh, kw, t, true)] : []), // vec4 stores (and loads)
        packSource(kh * kw, t.tc),
      ]),
    bench(rt, problem) {
      const { d, transposed } = problem as DirectCase;
      const s = scaleDirect(d);
      const x = rt.upload(filler(s.n * s.c * s.h * s.w));
      const w = rt.upload(filler(s.k * s.c * s.kh * s.kw));
      return {
        run: (t) => rt.free(directConv(rt, { x, w, b: null, d: s, relu: false, transposed }, t)),
        dispose: () => [x, w].forEach((b) => rt.free(b)),
      };
    },
  }));
}

/** The shape class of a direct problem. */
export function directClass(c: DirectCase): string {
  const { d } = c;
  return [
    c.transposed ? "dx" : "fwd",
    sizeClass("k", d.k, 64),
    d.c < 32 ? "c<32" : "c>=32",
    sizeClass("oh", d.oh, 32),
    sizeClass("ow", d.ow, 32),
  ].join(" ");
}

/** A smaller direct problem with the same channels and width, about {@linkcode TUNE_MACS}. */
function scaleDirect(d: DirectProblem): DirectProblem {
  const ph = Math.min(d.ph, d.kh - 1), pw = Math.min(d.pw, d.kw - 1);
  const ow = d.w + 2 * pw - d.kw + 1;
  const rows = Math.ceil(TUNE_MACS / (d.k * d.c * d.kh * d.kw * Math.max(1, ow)));
  const oh = Math.max(1, Math.min(d.oh, Math.max(8, rows)));
  return { ...d, n: 1, ph, pw, ow, oh, h: oh + d.kh - 1 - 2 * ph };
}

// ---------------------------------------------------------------------------------------------
// Backward-weight: the direct kernel (stride 1, 3x3) or the general one.

/** A backward-weight configuration: the direct kernel's tile or the general kernel's. */
export type WeightChoice =
  | ({ kind: "direct" } & WeightTile)
  | ({ kind: "generic" } & GenericTile);

const DIRECT_WEIGHT: WeightChoice[] = [
  { kind: "direct", tk: 32, p: 4, wg: 8 },
  { kind: "direct", tk: 16, p: 8, wg: 8 },
  { kind: "direct", tk: 24, p: 4, wg: 8 },
];

/** 3x3: the direct kernel always won; 1x1: the general one mostly does (no taps to share). */
const WEIGHT_CANDIDATES: Record<string, WeightChoice[]> = {
  "3x3": DIRECT_WEIGHT,
  "1x1": [{ kind: "generic", ...GENERIC_TILE }, DIRECT_WEIGHT[0], DIRECT_WEIGHT[1]],
};

/** The backward-weight family for `kh x kw` kernels of stride 1 (the direct kernel applies). */
export function weightFamily(kh: number, kw: number): Family<WeightChoice> {
  return sizeFamily("weight", [kh, kw], WEIGHT_CANDIDATES, (candidates) => ({
    sources: () =>
      candidates.flatMap((c) =>
        c.kind === "direct" ? [weightSource(kh, kw, c), dyPackSource(c.tk)] : [gradWeightSource(c)]
      ),
    bench(rt, problem) {
      const g = scaleGeom(problem as ConvGeom);
      const dy = rt.upload(filler(g.n * g.k * g.oh * g.ow));
      const x = rt.upload(filler(g.n * g.c * g.h * g.w));
      return {
        run: (c) => rt.free(gradWeightWith(rt, { dy, x, geom: g }, c)),
        dispose: () => [dy, x].forEach((b) => rt.free(b)),
      };
    },
  }));
}

/** Backward-weight with configuration `c`. */
export function gradWeightWith(
  rt: WebGpuRuntime,
  a: KernelArgs["conv2dGradWeight"],
  c: WeightChoice,
): Storage {
  return c.kind === "direct" ? directGradWeight(rt, a, c) : genericGradWeight(rt, a, c);
}

// ---------------------------------------------------------------------------------------------
// The general kernels (strided layers such as FCN's upsamplers, other kernel sizes).

const GENERIC_CANDIDATES: GenericTile[] = [
  GENERIC_TILE,
  { tc: 8, tp: 4, wg: 8 },
  { tc: 16, tp: 2, wg: 8 },
  { tc: 4, tp: 8, wg: 16 },
];

/** Which general kernel. */
export type GenericKind = "forward" | "gradInput" | "gradWeight";

const genericFamilies = new Map<GenericKind, Family<GenericTile>>();

/** The family of one general kernel. */
export function genericFamily(kind: GenericKind): Family<GenericTile> {
  return cached(genericFamilies, kind, () => ({
    name: `conv.generic.${kind}`,
    candidates: GENERIC_CANDIDATES,
    fallback: GENERIC_TILE,
    sources: () =>
      GENERIC_CANDIDATES.map((t) =>
        kind === "forward"
          ? forwardSource(false, t)
          : kind === "gradInput"
          ? gradInputSource(t)
          : gradWeightSource(t)
      ),
    bench(rt, problem) {
      const g = scaleGeom(problem as ConvGeom);
      const x = rt.upload(filler(g.n * g.c * g.h * g.w));
      const w = rt.upload(filler(g.k * g.c * g.kh * g.kw));
      const dy = rt.upload(filler(g.n * g.k * g.oh * g.ow));
      const run = (t: GenericTile): Storage =>
        kind === "forward"
          ? genericConv2d(rt, { x, w, b: null, geom: g, relu: false }, t)
          : kind === "gradInput"
          ? genericGradInput(rt, { dy, w, geom: g }, t)
          : genericGradWeight(rt, { dy, x, geom: g }, t);
      return {
        run: (t) => rt.free(run(t)),
        dispose: () => [x, w, dy].forEach((b) => rt.free(b)),
      };
    },
  }));
}

/** The shape class of a conv for the general kernels and backward-weight. */
export function geomClass(g: ConvGeom): string {
  return [
    `${g.kh}x${g.kw}`,
    `s${g.strideH}x${g.strideW}`,
    sizeClass("k", g.k, 64),
    sizeClass("c", g.c, 64),
    sizeClass("oh", g.oh, 32),
    sizeClass("ow", g.ow, 32),
  ].join(" ");
}

/** A smaller conv with the same channels, kernel and width, about {@linkcode TUNE_MACS}. */
function scaleGeom(g: ConvGeom): ConvGeom {
  const out = (size: number, pad: number, dil: number, k: number, s: number) =>
    Math.floor((size + 2 * pad - dil * (k - 1) - 1) / s) + 1;
  // FCN's first layer pads by 100: keep at most the padding a kernel can see.
  const padH = Math.min(g.padH, g.dilH * (g.kh - 1));
  const padW = Math.min(g.padW, g.dilW * (g.kw - 1));
  const ow = out(g.w, padW, g.dilW, g.kw, g.strideW);
  const rows = Math.ceil(TUNE_MACS / (g.k * g.c * g.kh * g.kw * Math.max(1, ow)));
  const want = Math.max(4, rows);
  const h = Math.max(1, Math.min(g.h, (want - 1) * g.strideH + g.dilH * (g.kh - 1) + 1 - 2 * padH));
  const oh = out(h, padH, g.dilH, g.kh, g.strideH);
  if (ow < 1 || oh < 1) return { ...g, n: 1 };
  return { ...g, n: 1, h, oh, ow, padH, padW };
}
