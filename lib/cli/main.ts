/**
 * The command line: `train`, `eval`, `predict`, `export` (and `--help`). Usage errors print one
 * line, never a stack trace.
 *
 * @module
 */
import { UsageError } from "./flags.ts";
import { VERSION } from "../version.ts";

const COMMANDS = {
  train: "train an FCN on a dataset folder (or the bundled demo set)",
  eval: "evaluate a model: pixel accuracy, mean IoU, per-class IoU",
  predict: "write a colour mask for each image",
  export: "write a model as an ONNX file",
} as const;
const NAMES = Object.keys(COMMANDS);

/** The usage text: one line per command. */
export function usage(): string {
  const width = Math.max(...NAMES.map((n) => n.length));
  return `Usage: deno run -A jsr:@x/fcn <command> [flags]   (@x/fcn ${VERSION})\n\nCommands:\n` +
    Object.entries(COMMANDS).map(([n, d]) => `  ${n.padEnd(width)}  ${d}`).join("\n") +
    "\n\nRun a command with --help to list its flags; --version prints the version.";
}

/** Runs a command line; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "train":
        return await (await import("./train.ts")).main(rest);
      case "eval":
        return await (await import("./eval.ts")).main(rest);
      case "predict":
        return await (await import("./predict.ts")).main(rest);
      case "export":
        return await (await import("./export.ts")).main(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        (command === undefined ? console.error : console.log)(usage());
        return command === undefined ? 2 : 0;
      case "--version":
      case "-V":
        console.log(VERSION);
        return 0;
      default:
        throw new UsageError(
          `Unknown command "${command}"; expected one of ${NAMES.join(", ")}`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    const err = e as Error;
    console.error(`error: ${err.message}`);
    if (Deno.env.get("FCN_DEBUG")) console.error(err.stack);
    return 1;
  }
}
