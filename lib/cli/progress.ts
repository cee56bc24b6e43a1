/**
 * Progress of a loop: a redrawn bar on a terminal, plain periodic lines otherwise.
 *
 * @module
 */

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Steps in the loop. */
  total: number;
  /** Text before the bar, e.g. "epoch 3/10". */
  label: string;
  /** Draw a bar (default: stderr is a terminal). */
  tty?: boolean;
  /** Seconds between plain lines when not a terminal (default 10). */
  every?: number;
  /** Where to write (default stderr). */
  write?: (text: string) => void;
}

const encoder = new TextEncoder();

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const t = Math.round(s);
  if (t >= 3600) {
    return `${Math.floor(t / 3600)}h${String(Math.floor(t / 60) % 60).padStart(2, "0")}m`;
  }
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${t}s`;
}

/** A progress bar / logger for one loop. */
export class Progress {
  readonly #o: Required<ProgressOptions>;
  readonly #start = performance.now();
  #lastLine = 0;
  #items = 0;

  /** Starts timing. */
  constructor(options: ProgressOptions) {
    this.#o = {
      tty: Deno.stderr.isTerminal(),
      every: 10,
      write: (t) => Deno.stderr.writeSync(encoder.encode(t)),
      ...options,
    };
  }

  /** Reports that `step` of total steps are done, having processed `items` more images. */
  update(step: number, fields: Record<string, string | number>, items = 0): void {
    this.#items += items;
    const elapsed = (performance.now() - this.#start) / 1000;
    const rate = this.#items / Math.max(elapsed, 1e-9);
    const eta = elapsed / Math.max(step, 1) * (this.#o.total - step);
    const info = Object.entries(fields).map(([k, v]) =>
      `${k} ${typeof v === "number" ? fmt(v) : v}`
    ).join("  ");
    const tail = `${info}  ${rate.toFixed(1)} img/s  ETA ${duration(eta)}`;
    if (this.#o.tty) {
      const width = 24;
      const filled = Math.round(width * step / Math.max(this.#o.total, 1));
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.#o.write(`\r\x1b[2K${this.#o.label} ${bar} ${step}/${this.#o.total}  ${tail}`);
    } else if (elapsed - this.#lastLine >= this.#o.every || step === this.#o.total) {
      this.#lastLine = elapsed;
      this.#o.write(`${this.#o.label} step ${step}/${this.#o.total}  ${tail}\n`);
    }
  }

  /** Ends the bar's line; returns the seconds spent. */
  done(): number {
    if (this.#o.tty) this.#o.write("\n");
    return (performance.now() - this.#start) / 1000;
  }
}

function fmt(v: number): string {
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4)) return v.toExponential(2);
  return v.toFixed(4);
}
