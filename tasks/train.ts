/** `deno task train`: see `deno task train --help`. @module */
import { run } from "../lib/cli/main.ts";

Deno.exit(await run(["train", ...Deno.args]));
