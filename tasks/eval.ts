/** `deno task eval`: see `deno task eval --help`. @module */
import { run } from "../lib/cli/main.ts";

Deno.exit(await run(["eval", ...Deno.args]));
