/**
 * Runs `predict` with the given arguments, then prints this process's peak resident set size
 * (`VmHWM` of /proc/self/status) as `peak_rss_kb <n>`: the subprocess of tests/infer_rss_test.ts.
 */
import { main } from "../lib/cli/predict.ts";

const code = await main(Deno.args);
const status = await Deno.readTextFile("/proc/self/status");
console.log(`peak_rss_kb ${/VmHWM:\s+(\d+)/.exec(status)?.[1]}`);
Deno.exit(code);
