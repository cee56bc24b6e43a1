/**
 * The step server of ours and of onnxruntime-node (see `bench/step_client.ts` for the protocol):
 * `deno run -A bench/step_server.ts`, then one JSON setup line:
 *
 *   {"engine": "blas", "model": "fcn8s" | "fcn_resnet50", "size": 224, "mode": "forward" | "train"}
 *   {"engine": "ort", "onnx": "<file>", "size": 224, "threads": 2}
 *
 * Ours builds the model with random weights on the BLAS backend (forward: eval, no grad; train:
 * forward + cross-entropy + backward + SGD with momentum and weight decay, as `deno task train`);
 * onnxruntime-node 1.30 (a bench-only peer, imported here and nowhere in the toolkit) opens the
 * file on its CPU execution provider with `threads` intra-op threads and its other options at
 * their defaults. Input: batch 1, 3 x size x size.
 *
 * @module
 */
import { noGrad } from "../lib/autograd.ts";
import { requestDevice } from "../lib/device/request.ts";
import { createModel } from "../lib/models/create.ts";
import { SGD } from "../lib/optim/sgd.ts";
import { tensor, tidy } from "../lib/tensor.ts";
import { trainStep } from "./models.ts";
import { randomF32, randomLabels } from "./random.ts";
import { lines, peakRss } from "./step_client.ts";

/** The setup line. */
export interface StepSetup {
  engine: "blas" | "ort";
  model?: "fcn8s" | "fcn_resnet50";
  size: number;
  mode?: "forward" | "train";
  onnx?: string;
  threads?: number;
}

/** The onnxruntime-node version the bench compares with. */
export const ORT_VERSION = "1.30.0";

/** A prepared step and what runs it. */
interface Prepared {
  step: () => Promise<unknown> | unknown;
  description: string;
  /** Threads it computes with, where known. */
  threads?: number;
}

async function ours(s: StepSetup): Promise<Prepared> {
  if (!s.model || !s.mode) throw new Error(`expected "model" and "mode" in the setup`);
  const device = await requestDevice({ backend: "blas" });
  const model = createModel(s.model, { numClasses: 21, aux: false }, device);
  const x = tensor(randomF32(3 * s.size * s.size, 11), [1, 3, s.size, s.size], device);
  const description = `@x/fcn BLAS backend: ${device.description}`;
  const m = device.description.match(/(\d+) threads?/);
  const threads = m ? Number(m[1]) : undefined;
  if (s.mode === "forward") {
    model.eval();
    return {
      step: () => {
        noGrad(() => tidy(() => model.forward(x).out)).dispose();
        return device.flush();
      },
      description,
      threads,
    };
  }
  const t = tensor(randomLabels(s.size * s.size, 21, 12), [1, s.size, s.size], device);
  model.train();
  const sgd = new SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
  return {
    step: () => {
      trainStep(model, sgd, x, t).dispose();
      return device.flush();
    },
    description,
    threads,
  };
}

async function onnxRuntime(s: StepSetup): Promise<Prepared> {
  if (!s.onnx) throw new Error(`expected "onnx" in the setup`);
  // A bench-only peer, never a dependency of the toolkit: imported inline, here only.
  // deno-lint-ignore no-import-prefix
  const ort = await import("npm:onnxruntime-node@1.30.0");
  const threads = s.threads ?? 2;
  const session = await ort.InferenceSession.create(s.onnx, {
    intraOpNumThreads: threads,
    executionProviders: ["cpu"],
  });
  const feeds = {
    [session.inputNames[0]]: new ort.Tensor("float32", randomF32(3 * s.size * s.size, 11), [
      1,
      3,
      s.size,
      s.size,
    ]),
  };
  return {
    step: () => session.run(feeds),
    threads,
    description:
      `onnxruntime-node ${ORT_VERSION} CPU EP, ${threads} intra-op threads, other options default`,
  };
}

/** Answers one line on stdout. */
function answer(o: object): void {
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(o) + "\n"));
}

/** Reads the setup, then times a step per request until "quit" or the end of stdin. */
async function serve(): Promise<void> {
  let prepared: Prepared | null = null;
  for await (
    const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(lines())
  ) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    if (msg.op === "quit") break;
    try {
      if (!prepared) {
        const s = msg as StepSetup;
        prepared = s.engine === "ort" ? await onnxRuntime(s) : await ours(s);
        answer({ ok: true, description: prepared.description, threads: prepared.threads });
        continue;
      }
      const t0 = performance.now();
      await prepared.step();
      answer({ ms: performance.now() - t0, rssBytes: peakRss() });
    } catch (e) {
      answer({ error: (e as Error).message.split("\n")[0] });
    }
  }
}

if (import.meta.main) await serve();
