/**
 * The BLAS backend: host memory, heavy ops through native BLAS via `Deno.dlopen`.
 *
 * @module
 */
import { registerBlas } from "./request.ts";

registerBlas(() => {
  throw new Error('The BLAS backend is not implemented yet; use { backend: "cpu" } or "webgpu"');
});
