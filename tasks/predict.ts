/** `deno task predict`: see `deno task predict --help`. @module */
import { run } from "../lib/cli/main.ts";

Deno.exit(await run(["predict", ...Deno.args]));
