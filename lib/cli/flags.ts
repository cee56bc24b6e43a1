/**
 * Command-line flags: one table per command gives each flag's type, default, allowed values and
 * help; parsing rejects unknown flags and bad values with a message naming the flag.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** One flag of a command. */
export interface FlagSpec {
  /** kebab-case name, without dashes. */
  name: string;
  type: "string" | "number" | "int" | "boolean";
  /** Default value (shown in --help). */
  default?: string | number | boolean;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  /** One line of help. */
  help: string;
  /** Check of a number flag: minimum (inclusive). */
  min?: number;
}

/** Parsed flags, camelCased, plus positional arguments. */
export interface Parsed {
  values: Record<string, string | number | boolean | undefined>;
  positionals: string[];
  help: boolean;
  /** camelCase names of the flags given on the command line (not defaulted). */
  given: Set<string>;
}

/** Raised for bad command lines; its message is for the user and needs no stack trace. */
export class UsageError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** `warmup-epochs` -> `warmupEpochs`. */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Parses `args` for `command` against `specs`. */
export function parseFlags(command: string, args: string[], specs: FlagSpec[]): Parsed {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const s of specs) options[s.name] = { type: s.type === "boolean" ? "boolean" : "string" };
  let raw;
  try {
    raw = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) {
      const near = specs.map((s) => `--${s.name}`).filter((n) =>
        n.startsWith(unknown[1].slice(0, 4))
      );
      throw new UsageError(
        `Unknown flag ${unknown[1]} for "${command}"` +
          (near.length ? ` (did you mean ${near.join(" or ")}?)` : "") +
          `; run with --help to list the flags`,
      );
    }
    throw new UsageError(`${command}: ${msg}`);
  }
  const values: Parsed["values"] = {};
  const given = new Set<string>();
  for (const s of specs) {
    const v = (raw.values as Record<string, string | boolean | undefined>)[s.name];
    if (v !== undefined) given.add(camel(s.name));
    values[camel(s.name)] = v === undefined ? s.default : convert(command, s, v);
  }
  return { values, positionals: raw.positionals, help: raw.values.help === true, given };
}

function convert(command: string, s: FlagSpec, v: string | boolean): string | number | boolean {
  if (s.type === "boolean") return v;
  const text = String(v);
  if (s.type === "string") {
    if (s.choices && !s.choices.includes(text)) {
      throw new UsageError(
        `${command}: --${s.name} "${text}" is not allowed; expected one of ${s.choices.join(", ")}`,
      );
    }
    return text;
  }
  const n = text.includes("/") ? fraction(text) : Number(text);
  if (!Number.isFinite(n) || (s.type === "int" && !Number.isInteger(n))) {
    throw new UsageError(
      `${command}: --${s.name} expects ${
        s.type === "int" ? "an integer" : "a number"
      } but got "${text}"`,
    );
  }
  if (s.min !== undefined && n < s.min) {
    throw new UsageError(`${command}: --${s.name} must be at least ${s.min} but got ${n}`);
  }
  return n;
}

function fraction(text: string): number {
  const [a, b] = text.split("/").map(Number);
  return a / b;
}

/** The --help text of a command. */
export function helpText(command: string, usage: string, specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${
      s.type === "boolean" ? "" : ` <${s.choices ? s.choices.join("|") : s.type}>`
    }`;
    const def = s.default === undefined ? "" : ` (default: ${s.default})`;
    return `${left.padEnd(44)} ${s.help}${def}`;
  });
  return `Usage: ${usage}\n\n${command} flags:\n${rows.join("\n")}\n  --help${
    " ".repeat(38)
  } this text`;
}
