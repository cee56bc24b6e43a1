/**
 * Weights from a local path, a URL or a torchvision name. `resolveWeights` downloads a URL once
 * into `<cache root>/weights/` (lib/io/cache.ts) through a temporary file renamed into place,
 * verifying the sha256 against the hex prefix torchvision's file names carry
 * (`name-<hex>.pth`); later calls reuse the cached file, offline too.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { cacheDir } from "./cache.ts";

const BASE = "https://download.pytorch.org/models/";

/** torchvision's published files (its `url=` fields; backbones are IMAGENET1K_V1). */
export const TORCHVISION_WEIGHTS: Readonly<Record<string, string>> = {
  fcn_resnet50_coco: "fcn_resnet50_coco-1167a1af.pth",
  fcn_resnet101_coco: "fcn_resnet101_coco-7ecb50ca.pth",
  vgg11: "vgg11-8a719046.pth",
  vgg13: "vgg13-19584684.pth",
  vgg16: "vgg16-397923af.pth",
  vgg19: "vgg19-dcbb9e9d.pth",
  vgg11_bn: "vgg11_bn-6002323d.pth",
  vgg13_bn: "vgg13_bn-abd245e5.pth",
  vgg16_bn: "vgg16_bn-6c64b313.pth",
  vgg19_bn: "vgg19_bn-c79401a0.pth",
  resnet50: "resnet50-0676ba61.pth",
  resnet101: "resnet101-63fe2227.pth",
};

/** Options of {@linkcode resolveWeights}. */
export interface ResolveWeightsOptions {
  /** Folder for downloads (default `<cache root>/weights`). */
  cacheDir?: string;
  /** Where progress and warnings go (default stderr). */
  log?: (line: string) => void;
}

/**
 * The URL a `torchvision:<name>` spec or a URL stands for, with `FCN_WEIGHTS_MIRROR` replacing
 * scheme and host; null for a local path.
 *
 * @example
 * ```ts
 * import { weightsUrl } from "./weights.ts";
 * if (weightsUrl("torchvision:vgg16") === null) throw new Error("no URL");
 * if (weightsUrl("runs/a/model.safetensors") !== null) throw new Error("a path is not a URL");
 * ```
 */
export function weightsUrl(spec: string): string | null {
  let url: string;
  if (spec.startsWith("torchvision:")) {
    const name = spec.slice("torchvision:".length);
    const file = TORCHVISION_WEIGHTS[name];
    if (!file) {
      throw new Error(
        `Unknown weights name "${spec}"; expected torchvision:<name> with name one of ` +
          `${Object.keys(TORCHVISION_WEIGHTS).join(", ")}`,
      );
    }
    url = BASE + file;
  } else if (/^https?:\/\//.test(spec)) url = spec;
  else return null;
  let mirror: string | undefined;
  try {
    mirror = Deno.env.get("FCN_WEIGHTS_MIRROR") || undefined;
  } catch { /* no env permission: no mirror */ }
  if (mirror) {
    const u = new URL(url);
    url = mirror.replace(/\/+$/, "") + u.pathname + u.search;
  }
  return url;
}

/**
 * A local path for a weights spec: a path is returned as is; a URL or `torchvision:` name is
 * downloaded once into the cache and verified against the sha256 prefix in its file name.
 *
 * @example
 * ```ts
 * import { resolveWeights } from "./weights.ts";
 * const path = await resolveWeights("fixtures/model/best.safetensors");
 * if (path !== "fixtures/model/best.safetensors") throw new Error(path);
 * ```
 */
export async function resolveWeights(
  spec: string,
  options: ResolveWeightsOptions = {},
): Promise<string> {
  const url = weightsUrl(spec);
  if (url === null) return spec;
  const log = options.log ?? ((l: string) => console.error(l));
  const dir = options.cacheDir ?? cacheDir("weights");
  if (!dir) throw new Error(`No cache folder for ${url}: set FCN_CACHE to a writable folder`);
  const name = decodeURIComponent(new URL(url).pathname.split("/").pop() || "weights.pth");
  const dest = `${dir}/${name}`;
  try {
    if ((await Deno.stat(dest)).size > 0) return dest;
  } catch { /* not cached yet */ }
  await Deno.mkdir(dir, { recursive: true });
  const prefix = /-([a-f0-9]{6,64})\.[^/]*$/.exec(name)?.[1] ?? null;
  if (prefix === null) log(`warning: ${name} carries no sha256 prefix: nothing will be verified`);
  const res = await fetch(url).catch((e) => {
    throw new Error(
      `Cannot download ${url}: ${
        (e as Error).message
      } (check the network, or set FCN_WEIGHTS_MIRROR)`,
    );
  });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`Cannot download ${url}: HTTP ${res.status}`);
  }
  const total = Number(res.headers.get("content-length") ?? 0);
  const tmp = `${dest}.part-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  const hash = createHash("sha256");
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let got = 0;
  let last = 0;
  if (!tty) log(`downloading ${url}${total ? ` (${(total / 1e6).toFixed(1)} MB)` : ""}`);
  try {
    for await (const chunk of res.body) {
      hash.update(chunk);
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
      got += chunk.length;
      if (tty && (Date.now() - last > 100 || got === total)) {
        last = Date.now();
        const frac = total ? got / total : 0;
        const bar = "#".repeat(Math.round(frac * 30)).padEnd(30, ".");
        Deno.stderr.writeSync(
          enc.encode(
            `\r${name} [${bar}] ${(got / 1e6).toFixed(1)}${
              total ? `/${(total / 1e6).toFixed(1)}` : ""
            } MB`,
          ),
        );
      }
    }
    if (tty) Deno.stderr.writeSync(enc.encode("\n"));
    file.close();
    const actual = hash.digest("hex");
    if (prefix !== null && !actual.startsWith(prefix)) {
      throw new Error(
        `Refused ${url}: its sha256 is ${actual}, but the file name expects one starting ` +
          `with ${prefix}; the download was deleted (a tampered or truncated file, or a wrong mirror)`,
      );
    }
    await Deno.rename(tmp, dest);
    return dest;
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
