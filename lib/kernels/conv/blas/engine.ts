/**
 * Which engine runs a convolution pass on the BLAS backend when oneDNN is loaded: oneDNN
 * (`./dnnl.ts`) or our GEMMs on OpenBLAS (`./gemm_*.ts`), per shape.
 *
 * Measured (bench/dnnl_probe.ts --passes, two threads, interleaved, medians; see the commit
 * that set the rule for the figures): oneDNN's direct convolutions win on every kernel with
 * several taps, in all three passes, reorders of the input and output included; on pointwise
 * (1x1) convolutions our GEMMs on the tensors themselves need no reorder and win.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import type { ConvPass } from "../../../device/blas_runtime.ts";

/** The engine of pass `pass` of the conv `g` when both are available. */
export function convEngine(g: ConvGeom, _pass: ConvPass): "dnnl" | "gemm" {
  return g.kh * g.kw > 1 ? "dnnl" : "gemm";
}
