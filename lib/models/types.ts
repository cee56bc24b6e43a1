/**
 * Types shared by the FCN models.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";

/** What a segmentation model returns: logits at the input's size, and the aux head's if any. */
export interface SegmentationOutput {
  /** `[N, K, H, W]` logits. */
  out: Tensor;
  /** `[N, K, H, W]` logits of the auxiliary head (FCN-ResNet with `aux`). */
  aux?: Tensor;
}
