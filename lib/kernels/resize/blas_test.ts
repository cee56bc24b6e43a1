import { assertBitsEqual, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { interpolate } from "./blas.ts";
import * as ref from "./reference.ts";

Deno.test("blas interpolate: bit for bit the reference, up and down, both corner rules", () => {
  const cases: [number, number, number, number, number, number][] = [
    [1, 3, 7, 5, 29, 23],
    [2, 2, 9, 12, 4, 5],
    [1, 1, 1, 1, 3, 2],
    [1, 2, 6, 6, 1, 1],
  ];
  for (const [n, c, h, w, oh, ow] of cases) {
    const p = { n, c, h, w }, x = randn(n * c * h * w, h * w);
    for (const align of [false, true]) {
      const want = ref.interpolate({ x, planes: p, oh, ow, alignCorners: align });
      const out = new Float32Array(want.length).fill(NaN);
      const got = interpolate({ x, planes: p, oh, ow, alignCorners: align }, out);
      assertEquals(got, out);
      assertBitsEqual(got, want, `${JSON.stringify(p)} -> ${oh}x${ow} ${align}`);
    }
  }
  assertThrows(() =>
    interpolate({
      x: new Float32Array(3),
      planes: { n: 1, c: 1, h: 2, w: 2 },
      oh: 4,
      ow: 4,
      alignCorners: false,
    })
  );
});

Deno.test("blas crop and cropGrad: the reference's copies into outputs of any contents", () => {
  const p = { n: 2, c: 3, h: 7, w: 9 }, x = randn(2 * 3 * 7 * 9, 5), dy = randn(2 * 3 * 4 * 5, 6);
  const window = { planes: p, oh: 4, ow: 5, top: 2, left: 3 };
  const y = ref.crop({ x, ...window }, new Float32Array(2 * 3 * 4 * 5).fill(NaN));
  assertEquals(y, ref.crop({ x, ...window }));
  const dx = ref.cropGrad({ dy, ...window }, new Float32Array(x.length).fill(NaN));
  assertEquals(dx, ref.cropGrad({ dy, ...window }));
  assertThrows(() => ref.crop({ x, ...window }, new Float32Array(3)), "expected out of 120");
});
