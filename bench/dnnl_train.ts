/**
 * Training steps for bench/dnnl_probe.ts --train: ours with oneDNN, ours with the GEMMs only,
 * and PyTorch (scripts/torch_step_server.py, a subprocess answering one step per line), round
 * after round in the same minutes.
 *
 * @module
 */
import { createBlasBackend } from "../lib/backends/blas.ts";
import { createModel } from "../lib/models/create.ts";
import { SGD } from "../lib/optim/sgd.ts";
import { Device, type Tensor, tensor } from "../lib/tensor.ts";
import { trainStep } from "./models.ts";

/** A PyTorch process that runs one step per request. */
export class TorchSteps {
  #child: Deno.ChildProcess;
  #lines: ReadableStreamDefaultReader<string>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buffered = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#writer = child.stdin.getWriter();
  }

  /** Starts the server for `model` at `size` in `mode` and waits for "ready". */
  static async start(model: string, size: number, mode: "train" | "forward"): Promise<TorchSteps> {
    const script = new URL("../scripts/torch_step_server.py", import.meta.url).pathname;
    const child = new Deno.Command("/usr/bin/python3", {
      args: [script, model, String(size), mode, "2"],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const t = new TorchSteps(child);
    const first = await t.#line();
    if (first !== "ready") throw new Error(`torch_step_server.py said ${first}`);
    return t;
  }

  async #line(): Promise<string> {
    while (!this.#buffered.includes("\n")) {
      const { value, done } = await this.#lines.read();
      if (done) throw new Error("torch_step_server.py ended");
      this.#buffered += value;
    }
    const i = this.#buffered.indexOf("\n");
    const line = this.#buffered.slice(0, i);
    this.#buffered = this.#buffered.slice(i + 1);
    return line.trim();
  }

  /** Runs one step; its ms as PyTorch timed it. */
  async step(): Promise<number> {
    await this.#writer.write(new TextEncoder().encode("step\n"));
    return Number(await this.#line());
  }

  /** Ends the process; its peak RSS in MB. */
  async close(): Promise<number> {
    await this.#writer.write(new TextEncoder().encode("\n"));
    const rss = Number((await this.#line()).replace("rss ", ""));
    await this.#writer.close();
    await this.#child.status;
    return rss;
  }
}

/** One of our training steps on a fresh BLAS device (`dnnl`: oneDNN on or off). */
export function ourSteps(
  name: "fcn8s" | "fcn_resnet50",
  size: number,
  dnnl: boolean,
): { step: () => Promise<void>; dispose: () => void; description: string } {
  const device = new Device(createBlasBackend({ dnnl }));
  const model = createModel(name, { numClasses: 21, aux: false }, device).train();
  const x = tensor(
    Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i) * 0.5),
    [1, 3, size, size],
    device,
  ).keep();
  const t = tensor(
    Int32Array.from({ length: size * size }, (_, i) => (i * 7) % 21),
    [1, size, size],
    device,
  ).keep();
  const sgd = new SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
  const step = async () => {
    const loss: Tensor = trainStep(model, sgd, x, t);
    await loss.toArray();
    loss.dispose();
  };
  const dispose = () => {
    x.dispose();
    t.dispose();
    model.dispose();
    device.destroy();
  };
  return { step, dispose, description: device.description };
}
