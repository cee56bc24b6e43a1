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
 *   scores) are as fast or faster on our GEMMs on the tensors themselves, which need no reorder.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import type { ConvPass } from "../../../device/blas_runtime.ts";

/** Channel product from which a 1x1 conv runs on oneDNN. */
export const DNNL_1X1_MIN_CHANNELS = 128 * 512;

/** The engine of pass `pass` of the conv `g` when both are available. */
export function convEngine(g: ConvGeom, _pass: ConvPass): "dnnl" | "gemm" {
  if (g.kh * g.kw > 1) return "dnnl";
  return g.c * g.k >= DNNL_1X1_MIN_CHANNELS ? "dnnl" : "gemm";
}
