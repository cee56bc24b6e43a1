/** `deno task export`: see `deno task export --help`. @module */
import { run } from "../lib/cli/main.ts";

Deno.exit(await run(["export", ...Deno.args]));
