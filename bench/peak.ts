/**
 * Peak device memory: a backend wrapper that samples `liveBytes()` after every call.
 *
 * @module
 */
import type { Backend } from "../lib/device/backend.ts";

/** A backend that records the largest `liveBytes()` seen since the last `reset()`. */
export interface PeakTracker {
  /** Use this in place of the wrapped backend (e.g. `new Device(tracker.backend)`). */
  readonly backend: Backend;
  /** The largest `liveBytes()` seen after any call since the last reset. */
  peak(): number;
  /** Starts a new window at the current `liveBytes()`. */
  reset(): void;
}

/**
 * Wraps `inner` so that every method call is followed by a `liveBytes()` sample; the methods run
 * on `inner` itself (private fields keep working).
 *
 * @example
 * ```ts
 * import { createCpuBackend } from "../lib/backends/cpu.ts";
 * import { trackPeak } from "./peak.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const t = trackPeak(createCpuBackend());
 * t.reset();
 * const s = t.backend.fill({ length: 1000, dtype: "f32", value: 0 });
 * t.backend.free(s);
 * assertEquals(t.peak(), 4000);
 * ```
 */
export function trackPeak(inner: Backend): PeakTracker {
  let peak = inner.liveBytes();
  const wrapped = new Map<PropertyKey, unknown>();
  const backend = new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function" || prop === "liveBytes" || prop === "constructor") {
        return typeof v === "function" ? v.bind(target) : v;
      }
      let f = wrapped.get(prop);
      if (!f) {
        f = (...args: unknown[]) => {
          const r = v.apply(target, args);
          const live = target.liveBytes();
          if (live > peak) peak = live;
          return r;
        };
        wrapped.set(prop, f);
      }
      return f;
    },
  });
  return {
    backend,
    peak: () => peak,
    reset: () => {
      peak = inner.liveBytes();
    },
  };
}
