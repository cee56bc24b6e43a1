/**
 * The command line: `train`, `eval`, `predict` (and `--help`). Usage errors print one line,
 * never a stack trace.
 *
 * @module
 */
import { UsageError } from "./flags.ts";

const COMMANDS = ["train", "eval", "predict"] as const;

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
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(
          `Usage: deno run -A jsr:@x/fcn <${COMMANDS.join("|")}> [flags]\n` +
            "Run a command with --help to list its flags.",
        );
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(
          `Unknown command "${command}"; expected one of ${COMMANDS.join(", ")}`,
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
