/**
 * Dev-only (not in CI): shows that the test suite fails on wrong-but-consistent changes, ones
 * every backend would share so that backend-vs-reference comparisons cannot see them.
 *
 *   deno run -A scripts/wrong_changes.ts [--keep] [name ...]
 *
 * Each change is a list of rules (file glob under lib/, regex, replacement); a rule is applied to
 * every file it matches, in a copy of the tree under /tmp (the worktree is never touched), so the
 * rules survive files moving between folders. A rule that matches nothing is reported (the code it
 * targets was rewritten: update the rule), and that change counts as not applied. For each change
 * the relevant tests run in the copy and the script prints which of them failed; an unmutated
 * copy runs first, so a failure is the change's doing. Exits 1 when a change was not caught.
 *
 * @module
 */

/** One textual edit: every match of `search` in files under lib/ matching `glob`. */
interface Rule {
  glob: string;
  search: RegExp;
  replace: string;
}

/** A wrong change and the tests that should notice it. */
interface WrongChange {
  name: string;
  rules: Rule[];
  tests: string[];
}

const LIB_TS = "lib/**/*.ts"; // *_test.ts files are never changed
const goldens = ["tests/models_golden_test.ts", "tests/ops_golden_test.ts"];

const changes: WrongChange[] = [
  {
    name: "SGD weight decay added after momentum instead of before",
    rules: [
      { // reference, first momentum step: buf = grad, then wd on the step
        glob: LIB_TS,
        search:
          /d = Math\.fround\(grad\[i\] \+ wd \* p\);(\s*)b\[i\] = d;(\s*)param\[i\] = p - lr \* d;/,
        replace: "d = Math.fround(grad[i]);$1b[i] = d;$2param[i] = p - lr * (d + wd * p);",
      },
      { // reference, later momentum steps
        glob: LIB_TS,
        search:
          /const v = Math\.fround\(m \* b\[i\] \+ c \* Math\.fround\(grad\[i\] \+ wd \* p\)\);(\s*)b\[i\] = v;(\s*)param\[i\] = p - lr \* v;/,
        replace:
          "const v = Math.fround(m * b[i] + c * grad[i]);$1b[i] = v;$2param[i] = p - lr * (v + wd * p);",
      },
      { // WGSL: d leaves weight decay out, the step adds it
        glob: LIB_TS,
        search: /var d = grad\[u\.gBase \+ i\] \+ u\.wd \* p;/,
        replace: "var d = grad[u.gBase + i];",
      },
      {
        glob: LIB_TS,
        search: /param\[u\.pBase \+ i\] = p - u\.lr \* d;/,
        replace: "param[u.pBase + i] = p - u.lr * (d + u.wd * p);",
      },
      { // BLAS: wd applied to the parameter, not folded into the buffer
        glob: LIB_TS,
        search: /if \(wd !== 0\) blas\.saxpy\(n, c \* wd, param, b\);/,
        replace: "if (wd !== 0) blas.saxpy(n, -lr * wd, param, param);",
      },
    ],
    tests: [...goldens, "lib/kernels/optim/"],
  },
  {
    name: 'cross entropy "mean" divides by all pixels instead of the counted ones',
    rules: [{
      glob: LIB_TS,
      search: /const denom = b\.sum\(\{ x: px\.weight,[^;]*\);/,
      replace: 'const denom = b.fill({ length: 1, dtype: "f32", value: n * hw });',
    }],
    tests: [...goldens, "lib/kernels/loss/"],
  },
  {
    name: "BatchNorm normalises with the unbiased variance",
    rules: [
      {
        glob: LIB_TS,
        search: /variance = stats\.var;/,
        replace: "variance = b.affine(stats.var, m / (m - 1), 0);",
      },
      { // the running variance keeps PyTorch's rule (unbiased once)
        glob: LIB_TS,
        search: /b\.axpby\(\{\s*a: runningVar\.storage,\s*b: variance,/,
        replace: "b.axpby({ a: runningVar.storage, b: stats.var,",
      },
    ],
    tests: [...goldens, "lib/kernels/norm/"],
  },
  {
    name: "conv2d's input gradient ignores dilation",
    rules: [{ // the backward rule that every backend's gradient goes through
      glob: "lib/**/autograd*.ts",
      search: /conv2dGradInput\(\{([^;]*?), geom: g \}\)/,
      replace: "conv2dGradInput({$1, geom: { ...g, dilH: 1, dilW: 1 } })",
    }],
    tests: [...goldens, "lib/kernels/conv/"],
  },
  {
    name: "SGD drops the Nesterov term",
    rules: [
      {
        glob: LIB_TS,
        search: /param\[i\] = p - lr \* Math\.fround\(d \+ m \* v\);/,
        replace: "param[i] = p - lr * v;",
      },
      {
        glob: LIB_TS,
        search: /d = select\(b, d \+ u\.momentum \* b, u\.nesterov == 1u\);/,
        replace: "d = b;",
      },
    ],
    tests: [...goldens, "lib/kernels/optim/"],
  },
];

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Files under `dir` (relative paths), skipping dot folders. */
async function* walk(dir: string, rel = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    if (e.name.startsWith(".")) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) yield* walk(dir, path);
    else if (e.isFile) yield path;
  }
}

/** A glob (`**`, `*`, `?`, `[...]`) as a regex over relative paths. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*" && glob[i + 1] === "*") {
      re += "(?:.*/)?";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = glob.indexOf("]", i);
      re += "[" + glob.slice(i + 1, end).replace(/^!/, "^") + "]";
      i = end;
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Copies the tree to a fresh folder under /tmp (no .git, no runs/). */
async function copyTree(): Promise<string> {
  const dest = await Deno.makeTempDir({ prefix: "fcn-wrong-" });
  const cp = new Deno.Command("cp", { args: ["-r", `${root}/.`, dest] });
  if (!(await cp.output()).success) throw new Error(`cp -r ${root} ${dest} failed`);
  await Deno.remove(`${dest}/.git`, { recursive: true }).catch(() => {});
  await Deno.remove(`${dest}/runs`, { recursive: true }).catch(() => {});
  return dest;
}

/** Applies `rules` in `dir`; returns per rule the files it changed. */
async function apply(dir: string, rules: Rule[]): Promise<string[][]> {
  const files: string[] = [];
  for await (const f of walk(dir, "lib")) files.push(f);
  const out: string[][] = [];
  for (const r of rules) {
    const glob = globToRegExp(r.glob), hit: string[] = [];
    const search = new RegExp(r.search.source, r.search.flags.replace("g", "") + "g");
    for (const f of files.filter((f) => glob.test(f) && !f.endsWith("_test.ts"))) {
      const text = await Deno.readTextFile(`${dir}/${f}`);
      const changed = text.replace(search, r.replace);
      if (changed !== text) {
        await Deno.writeTextFile(`${dir}/${f}`, changed);
        hit.push(f);
      }
    }
    out.push(hit);
  }
  return out;
}

/**
 * Runs `deno test` on `tests` in `dir`; returns the failed tests, each as
 * `file => name` with its failed steps (devices) in brackets.
 */
async function failedTests(dir: string, tests: string[]): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel", ...tests],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const failed = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^(\S.*?) \.\.\. FAILED/.exec(line);
    if (!m) continue;
    const [test, ...step] = m[1].split(" ... ");
    if (!failed.has(test)) failed.set(test, []);
    if (step.length > 0) failed.get(test)!.push(step.join(" / "));
  }
  for (const m of text.matchAll(/^(\S+) \(uncaught error\)/gm)) {
    failed.set(`${m[1]} (uncaught error)`, []);
  }
  if (!out.success && failed.size === 0) failed.set(`deno test exited ${out.code}`, []);
  return [...failed].map(([t, steps]) =>
    (steps.length ? `${t} [${steps.join("; ")}]` : t).replace(/^\.\//, "")
  );
}

const keep = Deno.args.includes("--keep");
const only = Deno.args.filter((a) => !a.startsWith("--"));
const chosen = changes.filter((c) => only.length === 0 || only.some((o) => c.name.includes(o)));

const base = await copyTree();
const allTests = [...new Set(chosen.flatMap((c) => c.tests))];
const baseline = await failedTests(base, allTests);
console.log(`unmutated tree: ${baseline.length === 0 ? "all pass" : baseline.join("; ")}`);
if (!keep) await Deno.remove(base, { recursive: true });
let uncaught = 0;
for (const c of chosen) {
  const dir = await copyTree();
  const hits = await apply(dir, c.rules);
  const missing = hits.flatMap((h, i) => h.length === 0 ? [String(c.rules[i].search)] : []);
  console.log(`\n* ${c.name}`);
  console.log(`  changed: ${[...new Set(hits.flat())].join(", ") || "nothing"}`);
  if (missing.length > 0) {
    console.log(`  NOT APPLIED, no file matches: ${missing.join(" ")} (update the rule)`);
    uncaught++;
  } else {
    const failed = (await failedTests(dir, c.tests)).filter((f) => !baseline.includes(f));
    if (failed.length === 0) uncaught++;
    console.log(
      failed.length === 0 ? "  NOT CAUGHT" : `  caught by: ${failed.join("\n             ")}`,
    );
  }
  if (keep) console.log(`  tree: ${dir}`);
  else await Deno.remove(dir, { recursive: true });
}
Deno.exit(uncaught === 0 ? 0 : 1);
