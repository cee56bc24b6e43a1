/** `deno task bench`: see `deno task bench --help`. @module */
import { UsageError } from "../lib/cli/flags.ts";
import { parseBenchArgs } from "../bench/args.ts";
import { runBench } from "../bench/run.ts";

try {
  const options = parseBenchArgs(Deno.args);
  if (options) await runBench(options, Deno.args);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(e.message);
  Deno.exit(2);
}
