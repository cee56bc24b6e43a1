/**
 * Which engine runs a convolution pass on the BLAS backend when oneDNN is loaded: oneDNN
 * (`./dnnl.ts`) or our GEMMs on OpenBLAS (`./gemm_*.ts`), per shape.
 *
 * Measured with bench/dnnl_probe.ts on the shared 2-core dev VM (two threads each, interleaved
 * rounds, medians; load average 6-17, so single rows are noisy and only the sums are firm):
 * - convs with several taps (3x3, 7x7, dilated, strided; and the transposed 4x4/16x16 upsamplers
 *   run as backward-data): oneDNN takes 0.13-0.97x our time in every pass, reorders of input
 *   and output included; the conv passes of an FCN-8s step at 480 px sum to 4.9 s against 9.1;
 * - 1x1 convs: where both channel counts are large (`C * K >= 128 * 512`) oneDNN takes 0.56-0.8x
 *   our time in most passes, and FCN-ResNet50's forward at 480 px takes 3200 ms against 4348
 *   with those 1x1 on our GEMMs (ORT: 3260, same rounds); thin ones (64 channels, the 21-class
 *   scores) are as fast or faster on our GEMMs on the tensors themselves, which need no reorder;
 * - huge weights (at least `HUGE_WEIGHTS` elements: FCN-8s's fc6, 4096x512x7x7, and fc7) over
 *   outputs of at least `HUGE_MIN_PIXELS` pixels (a training crop; eval at 224 px gives 7x7):
 *   oneDNN's forward holds a reordered copy (411 MB for fc6), redone after every SGD step. On
 *   our GEMMs an FCN-8s step at 480 px peaks at 2674-2722 MiB RSS against 3371-3405 with
 *   oneDNN, in 2.6-2.8 s against 2.9-5.7 (4 steps each, load 1.9-2.8); fc6's forward on 15x15
 *   alone, packed: oneDNN 137 ms, GEMMs 161; on 7x7: 42 against 127, so that stays on oneDNN.
 *
 * 3x3 stride-1 convs run as Winograd F(4x4, 3x3) where oneDNN has it ({@linkcode winogradPays}),
 * in all three passes. The direct convs already run near this CPU's peak (about 230 GFLOP/s on
 * the 2-core AMD EPYC (Zen 4) dev VM); Winograd does 2.25x fewer multiplications. Measured there
 * with DNNL_VERBOSE, ms per conv, direct against Winograd: FCN-ResNet50's head (2048->512 at
 * 60x60) 340 against 123, its 64->64 convs at 120x120 4.7 against 1.9; FCN-8s/VGG16's convs at
 * 224 px 0.4-0.6x the direct time (64->64 at 224x224 16.3 against 8.8); but the 3->64 first conv
 * 1.1 against 2.6, hence the channel floor. Backward at 480 px (forward / data / weights): 64->64
 * at 480x480 86/87/100 against 41/40/44, 512->512 at 30x30 20/21/21 against -/9/11. Whole runs:
 * ResNet50's forward at 480 px 1155 -> 920 ms, VGG16 FCN-8s's at 224 px 200 -> 113-145 ms and its
 * training step at 480 px 3.5 -> 2.5 s (peak RSS 2797 -> 3029 MiB; PyTorch's 3209).
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import type { ConvPass } from "../../../device/blas_runtime.ts";

/** Channels in and out from which a 3x3 conv runs as Winograd. */
export const WINOGRAD_MIN_CHANNELS = 16;

/** Whether the passes of `g` ask oneDNN for Winograd (3x3, stride 1, no dilation, 16+ channels). */
export function winogradPays(g: ConvGeom): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilH === 1 &&
    g.dilW === 1 && Math.min(g.c, g.k) >= WINOGRAD_MIN_CHANNELS;
}

/** Channel product from which a 1x1 conv runs on oneDNN. */
export const DNNL_1X1_MIN_CHANNELS = 128 * 512;

/** Weight elements from which a conv over `HUGE_MIN_PIXELS` outputs runs on our GEMMs. */
export const HUGE_WEIGHTS = 2 ** 24;

/** Output pixels (of one image) from which huge weights run on our GEMMs. */
export const HUGE_MIN_PIXELS = 128;

/**
 * The engine of pass `pass` of the conv `g` when both are available; `heldInput`: the input is
 * held in a oneDNN layout (a oneDNN conv's output), which thin 1x1 convs then read as it is.
 */
export function convEngine(g: ConvGeom, _pass: ConvPass, heldInput = false): "dnnl" | "gemm" {
  const huge = g.k * g.c * g.kh * g.kw >= HUGE_WEIGHTS && g.oh * g.ow >= HUGE_MIN_PIXELS;
  if (huge) return "gemm";
  if (g.kh * g.kw > 1 || heldInput) return "dnnl";
  return g.c * g.k >= DNNL_1X1_MIN_CHANNELS ? "dnnl" : "gemm";
}
