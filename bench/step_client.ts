/**
 * A step server: a child process (ours or onnxruntime-node through `bench/step_server.ts`,
 * PyTorch through `scripts/bench_step_torch.py`) that builds one model once and then times one
 * step per request, so that the contenders of a head-to-head row are timed in interleaved
 * rounds, each in a process of its own whose peak RSS is its own.
 *
 * The protocol is one JSON object per line: the parent sends the setup, the child answers
 * `{"ok": true, "description": ...}` or `{"error": ...}`; then each `{"op": "step"}` is answered
 * with `{"ms": <the step's wall time, measured in the child>, "rssBytes": <VmHWM>}`; `{"op":
 * "quit"}` (or the end of stdin) ends the child.
 *
 * @module
 */

/** What one timed step answered. */
export interface StepReply {
  /** Wall time of the step inside the child, ms. */
  ms: number;
  /** The child's peak resident set so far (VmHWM), bytes. */
  rssBytes?: number;
}

/**
 * Splits a stream of text into lines (without the line ends).
 *
 * @example
 * ```ts
 * import { lines } from "./step_client.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const got: string[] = [];
 * const src = ReadableStream.from(["a\nb", "c\n", "d"]);
 * for await (const l of src.pipeThrough(lines())) got.push(l);
 * assertEquals(got, ["a", "bc", "d"]);
 * ```
 */
export function lines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) out.enqueue(p.replace(/\r$/, ""));
    },
    flush(out) {
      if (rest) out.enqueue(rest);
    },
  });
}

/** The last `max` characters of a stream, kept while it is read (the child's stderr). */
function tail(stream: ReadableStream<Uint8Array>, max = 4000): () => string {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-max);
    }
  })().catch(() => {});
  return () => text.trim();
}

/** A running step server. */
export class StepProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #replies: AsyncIterator<string>;
  readonly #stderr: () => string;
  readonly #name: string;
  /** What the child said it runs (versions, threads). */
  description = "";
  /** The child's whole answer to the setup. */
  info: Record<string, unknown> = {};

  private constructor(name: string, cmd: readonly string[]) {
    this.#name = name;
    this.#child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#replies = this.#child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())
      [Symbol.asyncIterator]();
    this.#stderr = tail(this.#child.stderr);
  }

  /** The child's process id (its CPU time counts as the bench's own in the load). */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts `cmd` and sends it `setup`; throws an Error naming `name` and the child's own message
   * when it refuses or dies.
   */
  static async start(name: string, cmd: readonly string[], setup: object): Promise<StepProcess> {
    const p = new StepProcess(name, cmd);
    try {
      const r = await p.#ask(setup);
      if (r.ok !== true) throw new Error(String(r.error ?? JSON.stringify(r)));
      p.description = String(r.description ?? "");
      p.info = r;
      return p;
    } catch (e) {
      await p.close();
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }

  async #ask(message: object): Promise<Record<string, unknown>> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
    for (;;) {
      const next = await this.#replies.next();
      if (next.done) {
        const err = this.#stderr().split("\n").slice(-3).join(" | ");
        throw new Error(`the step server ended without answering${err ? `: ${err}` : ""}`);
      }
      const line = next.value.trim();
      if (line.startsWith("{")) return JSON.parse(line);
      // anything else on stdout (a library's banner) is not an answer
    }
  }

  /** Times one step in the child. */
  async step(): Promise<StepReply> {
    const r = await this.#ask({ op: "step" });
    if (typeof r.ms !== "number") {
      throw new Error(`${this.#name}: step failed: ${String(r.error ?? JSON.stringify(r))}`);
    }
    return { ms: r.ms, rssBytes: typeof r.rssBytes === "number" ? r.rssBytes : undefined };
  }

  /** Asks the child to quit and waits for it (killing it if it does not go within 10 s). */
  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode(`{"op":"quit"}\n`));
      await this.#writer.close();
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 10_000);
    try {
      await this.#child.status;
    } finally {
      clearTimeout(timer);
    }
    await this.#replies.return?.();
  }
}

/** The peak resident set of this process (VmHWM), bytes; undefined off Linux. */
export function peakRss(): number | undefined {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/^VmHWM:\s*(\d+)\s*kB/m);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
