import { assert, assertEquals } from "./assert.ts";
import { resolveWeights, weightsUrl } from "../lib/io/weights.ts";

const body = new TextEncoder().encode("pretend these are weights ".repeat(100));
const hex = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", body)))
  .map((b) => b.toString(16).padStart(2, "0")).join("");

function serve(files: Record<string, Uint8Array<ArrayBuffer>>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const f = files[new URL(req.url).pathname];
    return f ? new Response(f) : new Response("missing", { status: 404 });
  });
  return { server, base: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test("weights: a URL is downloaded once, verified, then reused offline", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const { server, base } = serve({ [`/m/net-${hex.slice(0, 8)}.pth`]: body });
  try {
    const url = `${base}/m/net-${hex.slice(0, 8)}.pth`;
    const path = await resolveWeights(url, { cacheDir: dir, log });
    assertEquals(path, `${dir}/net-${hex.slice(0, 8)}.pth`);
    assertEquals((await Deno.readFile(path)).length, body.length);
    await server.shutdown();
    assertEquals(await resolveWeights(url, { cacheDir: dir, log }), path);
    assertEquals([...Deno.readDirSync(dir)].length, 1);
  } finally {
    await server.shutdown().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weights: a tampered file is refused, deleted, nothing cached", async () => {
  const dir = await Deno.makeTempDir();
  const bad = body.slice();
  bad[5] ^= 1;
  const { server, base } = serve({ [`/m/net-${hex.slice(0, 8)}.pth`]: bad });
  try {
    let msg = "";
    try {
      await resolveWeights(`${base}/m/net-${hex.slice(0, 8)}.pth`, {
        cacheDir: dir,
        log: () => {},
      });
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(msg.includes(hex.slice(0, 8)) && msg.includes("Refused"), msg);
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weights: torchvision names through FCN_WEIGHTS_MIRROR; no hash suffix warns", async () => {
  assertEquals(
    weightsUrl("torchvision:fcn_resnet50_coco"),
    "https://download.pytorch.org/models/fcn_resnet50_coco-1167a1af.pth",
  );
  const dir = await Deno.makeTempDir();
  const { server, base } = serve({
    "/models/vgg16-397923af.pth": body,
    "/plain.pth": body,
  });
  Deno.env.set("FCN_WEIGHTS_MIRROR", base);
  try {
    const lines: string[] = [];
    // The mirror serves our bytes under torchvision's name: the prefix check refuses them.
    let msg = "";
    try {
      await resolveWeights("torchvision:vgg16", { cacheDir: dir, log: () => {} });
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(msg.includes("397923af") && msg.includes(hex), msg);
    const p = await resolveWeights(`${base}/plain.pth`, {
      cacheDir: dir,
      log: (l) => lines.push(l),
    });
    assertEquals(p, `${dir}/plain.pth`);
    assert(lines.some((l) => l.includes("nothing will be verified")), lines.join("\n"));
  } finally {
    Deno.env.delete("FCN_WEIGHTS_MIRROR");
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
